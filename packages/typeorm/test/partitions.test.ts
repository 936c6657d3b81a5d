import type { Dialect } from '@batchyield/test-fixtures'
import { definePartitionSuite } from '@batchyield/test-fixtures/conformance'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import type { DataSource } from 'typeorm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { aiterator, KeysetOrderingError, partitions, StrategyUnavailableError } from '../src/index.js'
import { typeormFixtureDriver } from './support/conformance-driver.js'
import { openDataSource, QueryCounter } from './support/data-source.js'
import { Book } from './support/entities.js'
import { WHOLE_CHUNKS } from './support/whole-chunks.js'

// Partitioned scans are the conformance scenario (@batchyield/test-fixtures/conformance); what is
// TypeORM's own is what partitions() accepts of a query builder, that it leaves the builder as it
// was, and that a partition's chunk queries are index ranges bounded on both sides.

for (const dialect of ['postgres', 'mariadb'] as Dialect[]) {
  describe(`partitions on ${dialect}`, () => {
    definePartitionSuite(typeormFixtureDriver(dialect))
  })
}

class CapturingLogger extends QueryCounter {
  parameters: unknown[][] = []
  override logQuery(query: string, parameters?: unknown[]): void {
    super.logQuery(query)
    this.parameters.push(parameters ?? [])
  }
}

describe('partitions() of a TypeORM query builder (PostgreSQL)', () => {
  const db = useTestDatabase('postgres', { seed: true })
  const logger = new CapturingLogger()
  let ds: DataSource
  beforeAll(async () => {
    ds = await openDataSource('postgres', db.url, { poolSize: 1, logger })
  })
  afterAll(async () => {
    await ds?.destroy()
  })
  const books = () => ds.getRepository(Book).createQueryBuilder('b')

  it('refuses what it cannot split, before any statement', async () => {
    const before = logger.queries.length
    await expect(partitions(books().take(10), 2)).rejects.toThrow(/remove take\(\)\/skip\(\)/)
    await expect(partitions(books().skip(10), 2)).rejects.toThrow(/sets skip\(10\)/)
    await expect(partitions(books().orderBy('LOWER(b.title)'), 2)).rejects.toThrow(KeysetOrderingError)
    await expect(partitions(books(), 0)).rejects.toThrow(RangeError)
    await expect(partitions(books(), 2, { method: 'histogram' as never })).rejects.toThrow(
      /method must be one of 'auto', 'sample', 'statistics', 'scan'/,
    )
    await expect(partitions(books(), 2, { sample: 5 } as never)).rejects.toThrow(/unknown option "sample"/)
    await expect(partitions({} as never, 2)).rejects.toThrow(/must be a TypeORM SelectQueryBuilder/)
    expect(logger.queries.length).toBe(before)
  })

  it('a range does not combine with skip(): it starts at a position', async () => {
    const [part] = await partitions(books(), 2)
    expect(() => aiterator(books().skip(3), { partition: part })).toThrow(
      /skip\(3\) cannot be combined with from, to or partition/,
    )
    expect(() => aiterator(books().skip(3), { from: [10] })).toThrow(TypeError)
    expect(() => aiterator(books().take(3), { from: [10] })).not.toThrow()
  })

  it('leaves the query builder as it was (the page sample is on its clone)', async () => {
    const qb = books().where('b.rating > :r', { r: 1 }).orderBy('b.publishedAt', 'DESC')
    const sql = qb.getQuery()
    const parts = await partitions(qb, 3, { method: 'sample' })
    expect(parts).toHaveLength(3)
    expect(qb.getQuery()).toBe(sql)
    expect(logger.queries.some((q) => q.includes('TABLESAMPLE SYSTEM'))).toBe(true)
  })

  it('with one partition, sends nothing and returns the whole query', async () => {
    const before = logger.queries.length
    const [whole, ...rest] = await partitions(books(), 1)
    expect(rest).toEqual([])
    expect(whole).toMatchObject({ index: 0, count: 1, from: null, to: null })
    expect(logger.queries.length).toBe(before)
  })

  it('each chunk query of a middle partition is an index range bounded at both ends (no scan on to the end of the index)', async () => {
    const qb = () => books().orderBy('b.publishedAt', 'ASC')
    const parts = await partitions(qb(), 3, { method: 'scan' })
    logger.queries = []
    logger.parameters = []
    let rows = 0
    for await (const batch of aiterator(qb(), {
      batchYieldSize: 20,
      chunkSize: 20,
      prefetch: 0,
      partition: parts[1],
      ...WHOLE_CHUNKS,
    }))
      rows += batch.length
    expect(rows).toBeGreaterThan(100)
    const seeks = logger.queries
      .map((sql, i) => ({ sql, parameters: logger.parameters[i]! }))
      .filter(({ sql }) => /FROM "books".* WHERE /.test(sql))
    expect(seeks.length).toBeGreaterThanOrEqual(6)
    // the fixture table is small: without these the planner would read it all and sort
    await ds.query('SET enable_seqscan = off')
    await ds.query('SET enable_bitmapscan = off')
    await ds.query('SET enable_sort = off')
    try {
      for (const { sql, parameters } of seeks) {
        const plan = ((await ds.query(`EXPLAIN ${sql}`, parameters)) as { 'QUERY PLAN': string }[])
          .map((r) => r['QUERY PLAN'])
          .join('\n')
        expect(plan).toMatch(/Index Scan using books_published_at_id_idx/)
        expect(plan).toMatch(/Index Cond: \(\(published_at >= .*\) AND \(published_at <= .*\)\)/)
        expect(plan).not.toMatch(/Sort/)
      }
    } finally {
      await ds.query('RESET ALL')
    }
  })
})

describe('partitions() of a TypeORM query builder (MariaDB)', () => {
  const db = useTestDatabase('mariadb', { seed: true })
  let ds: DataSource
  beforeAll(async () => {
    ds = await openDataSource('mariadb', db.url)
  })
  afterAll(async () => {
    await ds?.destroy()
  })

  it("offers 'scan' only: the page sample and pg_stats are PostgreSQL's", async () => {
    const qb = () => ds.getRepository(Book).createQueryBuilder('b')
    await expect(partitions(qb(), 2, { method: 'sample' })).rejects.toThrow(StrategyUnavailableError)
    await expect(partitions(qb(), 2, { method: 'statistics' })).rejects.toThrow(/Use method 'scan'/)
    expect(await partitions(qb(), 2, { method: 'scan' })).toHaveLength(2)
  })
})
