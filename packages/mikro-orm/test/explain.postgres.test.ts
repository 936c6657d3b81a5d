/**
 * A keyset chunk must start where the last one ended, as an ordered index range, not scan the
 * index from its beginning and filter (which makes a whole run quadratic). The fixture table is
 * small, so the planner would rather read it all and sort: sequential scans, bitmap scans and
 * sorts are disabled while explaining, to see whether an ordered index range plan exists.
 */
import { withConnection } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import '../src/index.js'
import { Book } from './entities.js'
import { openOrm, type TestOrm } from './support.js'

const db = useTestDatabase('postgres', { seed: true })
const statements: [string, readonly unknown[]][] = []
let t: TestOrm
beforeAll(() => {
  t = openOrm('postgres', db.url, {
    onQuery: (sql: string, params: readonly unknown[]) => {
      statements.push([sql, params])
      return sql
    },
  })
})
afterAll(() => t?.close())

describe('PostgreSQL seek queries are ordered index ranges on the (column, id) index', () => {
  // PostgreSQL puts NULLs last for asc and first for desc: both orders cross the NULL region of published_at
  const cases = [
    [{ rating: 'asc' }, 'books_rating_id_idx'],
    [{ rating: 'desc' }, 'books_rating_id_idx'],
    [{ publishedAt: 'asc' }, 'books_published_at_id_idx'],
    [{ publishedAt: 'desc' }, 'books_published_at_id_idx'],
  ] as const
  // (an ORDER BY with a non-default NULL placement, such as 'asc nulls first', needs an index
  // declared with the same NULLS order to avoid the sort: that index is the user's to create)
  for (const [orderBy, index] of cases) {
    it(`${JSON.stringify(orderBy)}: Index Scan on ${index} with an Index Cond, no Sort`, async () => {
      statements.length = 0
      let batches = 0
      for await (const _ of t.em.aiterator(Book, { orderBy, chunkSize: 40, batchYieldSize: 40, prefetch: 0 })) batches++
      expect(batches).toBe(10)
      // every chunk query after the first (which has no seek condition)
      const seeks = statements.filter(([sql]) => / from "books" .* where .* limit /i.test(sql))
      expect(seeks.length).toBeGreaterThanOrEqual(9)
      await withConnection(db.url, async (c) => {
        await c.query('set enable_seqscan = off')
        await c.query('set enable_bitmapscan = off')
        await c.query('set enable_sort = off')
        for (const [sql, params] of seeks) {
          const rows = await c.query<{ 'QUERY PLAN': string }>(
            `explain ${t.em.getPlatform().formatQuery(sql, [...params])}`,
          )
          const plan = rows.map((r) => r['QUERY PLAN']).join('\n')
          expect(plan, sql).toMatch(new RegExp(`Index Scan( Backward)? using ${index}`))
          expect(plan, sql).toMatch(/Index Cond: /)
          expect(plan, sql).not.toMatch(/Sort/)
        }
      })
    })
  }
})
