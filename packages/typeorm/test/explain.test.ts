import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import type { DataSource } from 'typeorm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { aiterator } from '../src/index.js'
import { openDataSource, QueryCounter } from './support/data-source.js'
import { Book } from './support/entities.js'
import { WHOLE_CHUNKS } from './support/whole-chunks.js'

// A keyset chunk must start where the last one ended, as an index range (Index Cond), not scan
// the index from its beginning and filter (which makes a full run quadratic). The fixture table
// is small, so the planner would rather read it all and sort; sequential scans, bitmap scans and
// sorts are disabled to see whether an ordered index range plan exists for each query.

class CapturingLogger extends QueryCounter {
  parameters: unknown[][] = []
  override logQuery(query: string, parameters?: unknown[]): void {
    super.logQuery(query)
    this.parameters.push(parameters ?? [])
  }
}

const db = useTestDatabase('postgres', { seed: true })
const logger = new CapturingLogger()
let ds: DataSource
beforeAll(async () => {
  ds = await openDataSource('postgres', db.url, { poolSize: 1, logger })
})
afterAll(async () => {
  await ds?.destroy()
})

/** The plans of the queries a run sends after its first chunk. */
async function seekPlans(order: 'ASC' | 'DESC', nulls?: 'NULLS FIRST' | 'NULLS LAST'): Promise<string[]> {
  logger.queries = []
  logger.parameters = []
  let batches = 0
  const qb = ds.getRepository(Book).createQueryBuilder('b').orderBy('b.publishedAt', order, nulls)
  for await (const _ of aiterator(qb, { batchYieldSize: 40, chunkSize: 40, prefetch: 0, ...WHOLE_CHUNKS })) batches++
  expect(batches).toBe(10)
  const seeks = logger.queries
    .map((sql, i) => ({ sql, parameters: logger.parameters[i]! }))
    .filter(({ sql }) => /FROM "books".* WHERE /.test(sql))
  expect(seeks.length).toBeGreaterThanOrEqual(9)
  await ds.query('SET enable_seqscan = off')
  await ds.query('SET enable_bitmapscan = off')
  await ds.query('SET enable_sort = off')
  try {
    const plans: string[] = []
    for (const { sql, parameters } of seeks) {
      const rows: { 'QUERY PLAN': string }[] = await ds.query(`EXPLAIN ${sql}`, parameters)
      plans.push(rows.map((r) => r['QUERY PLAN']).join('\n'))
    }
    return plans
  } finally {
    await ds.query('RESET ALL')
  }
}

// (An ORDER BY with non-default NULL placement, e.g. ASC NULLS FIRST, needs an index declared
// with the same NULLS order to avoid the sort; that is the user's index to create.)
describe('with the default NULL placement, each seek query is an ordered index range on books (published_at, id)', () => {
  it.each([
    ['ASC', undefined],
    ['DESC', undefined],
  ] as const)('%s %s', async (order, nulls) => {
    const plans = await seekPlans(order, nulls)
    for (const plan of plans) {
      expect(plan).toMatch(/Index Scan( Backward)? using books_published_at_id_idx/)
      expect(plan).toMatch(/Index Cond: \(+published_at (>=|<=|IS NULL)/)
      expect(plan).not.toMatch(/Sort|Filter: \(\(published_at IS NULL\) OR/)
    }
  })
})
