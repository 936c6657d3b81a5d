/**
 * MikroORM's own side of partitioned scans (the scenario itself is the conformance suite's
 * definePartitionSuite): partitionsQueryBuilder(qb, n) with qb.aiterator({ partition }) against
 * qb.getResultList() for query builder shapes (joins selected or filtered on, raw conditions, a composite
 * key), each partition read in another ORM instance; what both entry points refuse; and, on PostgreSQL,
 * that a middle partition's chunk queries are index ranges bounded at both ends.
 */
import type { Dialect } from '@batchyield/test-fixtures'
import { withConnection } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import type { QueryBuilder, SqlEntityManager } from '@mikro-orm/sql'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import '../../src/index.js'
import {
  InvalidPartitionError,
  KeysetOrderingError,
  partitions,
  partitionsQueryBuilder,
  StrategyUnavailableError,
} from '../../src/index.js'
import { Author, Book, OrderLine } from '../entities.js'
import { collectBatches, openOrm, pkOf, type TestOrm } from '../support.js'

type AnyQb = QueryBuilder<any, any, any, any, any, any, any>

// each order ends with the primary key: getResultList() appends nothing, and ties must have one answer
const shapes: readonly { readonly name: string; readonly qb: (em: SqlEntityManager) => AnyQb }[] = [
  {
    name: 'select *, by a nullable column DESC',
    qb: (em) =>
      em
        .createQueryBuilder(Book, 'b')
        .select('*')
        .orderBy([{ publishedAt: 'desc' }, { id: 'desc' }]),
  },
  {
    name: 'to-one join selected, condition on the joined alias',
    qb: (em) =>
      em
        .createQueryBuilder(Book, 'b')
        .select('*')
        .leftJoinAndSelect('b.author', 'a')
        .where({ 'a.name': { $like: '%a%' } })
        .orderBy([{ rating: 'asc' }, { id: 'asc' }]),
  },
  {
    name: 'to-many join selected, its rows ordered after the primary key',
    qb: (em) =>
      em
        .createQueryBuilder(Book, 'b')
        .select('*')
        .leftJoinAndSelect('b.tags', 't')
        .orderBy([{ rating: 'desc' }, { id: 'desc' }, { 't.name': 'asc' }]),
  },
  {
    name: 'one-to-many join selected, condition on the joined rows',
    qb: (em) =>
      em
        .createQueryBuilder(Author, 'a')
        .select('*')
        .leftJoinAndSelect('a.books', 'b')
        .where({ 'b.rating': { $gte: 3 } })
        .orderBy([{ createdAt: 'desc' }, { id: 'desc' }, { 'b.id': 'asc' }]),
  },
  {
    name: 'raw condition',
    qb: (em) =>
      em
        .createQueryBuilder(Book, 'b')
        .select('*')
        .where('b.rating >= ?', [3])
        .orderBy([{ publishedAt: 'asc' }, { id: 'asc' }]),
  },
  {
    name: 'composite primary key, by a non-unique column',
    qb: (em) =>
      em
        .createQueryBuilder(OrderLine, 'o')
        .select('*')
        .orderBy([{ quantity: 'desc' }, { orderId: 'desc' }, { lineNo: 'desc' }]),
  },
]

export function definePartitionsQueryBuilderSuite(dialect: Dialect): void {
  const db = useTestDatabase(dialect, {
    seed: { counts: { authors: 12, books: 120, tags: 10, orderLines: 80, devices: 0, countries: 0 } },
  })
  const methods = dialect === 'postgres' ? (['sample', 'statistics', 'scan'] as const) : (['scan'] as const)
  let t: TestOrm
  let worker: TestOrm
  beforeAll(() => {
    t = openOrm(dialect, db.url)
    worker = openOrm(dialect, db.url) // "another process"
  })
  afterAll(async () => {
    await t?.close()
    await worker?.close()
  })
  const em = () => t.em.fork() as unknown as SqlEntityManager
  const workerEm = () => worker.em.fork() as unknown as SqlEntityManager

  describe.each(shapes)('partitionsQueryBuilder: $name', ({ qb }) => {
    it.each(methods.flatMap((method) => [1, 3, 7].map((count) => ({ method, count }))))(
      '$method, $count partitions: read in another ORM, in order, they are getResultList() once each',
      async ({ method, count }) => {
        const expected = (await qb(em()).getResultList()).map((entity) => pkOf(entity as object))
        const parts = await partitionsQueryBuilder(qb(em()), count, { method })
        expect(parts.length).toBeGreaterThanOrEqual(1)
        expect(parts.length).toBeLessThanOrEqual(count)
        const seen: string[] = []
        for (const part of parts) {
          const batches = await collectBatches(
            qb(workerEm()).aiterator({ batchYieldSize: 5, chunkSize: 3, partition: JSON.parse(JSON.stringify(part)) }),
          )
          seen.push(...batches.flat().map((entity) => pkOf(entity as object)))
        }
        expect(seen).toEqual(expected)
      },
    )
  })

  it('a query builder descriptor is refused for other conditions or another order, and by em.aiterator', async () => {
    const books = (rating: number) =>
      em()
        .createQueryBuilder(Book, 'b')
        .select('*')
        .where({ rating: { $gte: rating } })
        .orderBy({ publishedAt: 'desc' })
    const [part] = await partitionsQueryBuilder(books(2), 2)
    expect(() => books(2).aiterator({ partition: part })).not.toThrow()
    expect(() => books(3).aiterator({ partition: part })).toThrow(InvalidPartitionError)
    expect(() => books(2).orderBy({ publishedAt: 'asc' }).aiterator({ partition: part })).toThrow(InvalidPartitionError)
    expect(() =>
      t.em.aiterator(Book, { where: { rating: { $gte: 2 } }, orderBy: { publishedAt: 'desc' }, partition: part }),
    ).toThrow(InvalidPartitionError)
    expect(() => books(2).aiterator({ strategy: 'cursor', partition: part })).toThrow(TypeError)
  })

  it('a range does not combine with an offset: it starts at a position', async () => {
    const [part] = await partitions(t.em, Book, 2)
    expect(() => t.em.aiterator(Book, { offset: 3, partition: part })).toThrow(
      /offset \(3\) cannot be combined with from, to or partition/,
    )
    expect(() =>
      em()
        .createQueryBuilder(Book, 'b')
        .select('*')
        .offset(3)
        .aiterator({ from: [10] }),
    ).toThrow(/offset\(3\) cannot be combined/)
    expect(() => t.em.aiterator(Book, { limit: 3, from: [10] })).not.toThrow()
  })

  it('refuses what it cannot split, before any statement', async () => {
    const before = t.queries.length
    await expect(partitionsQueryBuilder(em().createQueryBuilder(Book, 'b').select('*').limit(10), 2)).rejects.toThrow(
      /sets limit\(10\)/,
    )
    await expect(
      partitionsQueryBuilder(
        em()
          .createQueryBuilder(Book, 'b')
          .select('*')
          .innerJoinAndSelect('b.author', 'a')
          .orderBy([{ 'a.name': 'asc' }]),
        2,
      ),
    ).rejects.toThrow(KeysetOrderingError)
    await expect(partitions(t.em, Book, 2, { populate: ['author'] } as never)).rejects.toThrow(
      /unknown option "populate"/,
    )
    await expect(partitions(t.em, Book, 0)).rejects.toThrow(RangeError)
    await expect(partitions(t.em, Book, 2, { orderBy: { author: { name: 'asc' } } })).rejects.toThrow(
      KeysetOrderingError,
    )
    if (dialect === 'mariadb')
      await expect(partitions(t.em, Book, 2, { method: 'sample' })).rejects.toThrow(StrategyUnavailableError)
    expect(t.queries.length).toBe(before)
  })

  if (dialect === 'postgres') {
    it('each chunk query of a middle partition is an index range bounded at both ends', async () => {
      const statements: [string, readonly unknown[]][] = []
      const traced = openOrm(dialect, db.url, {
        onQuery: (sql: string, params: readonly unknown[]) => {
          statements.push([sql, params])
          return sql
        },
      })
      try {
        const parts = await partitions(traced.em, Book, 3, { orderBy: { publishedAt: 'asc' }, method: 'scan' })
        statements.length = 0
        let rows = 0
        for await (const batch of traced.em.aiterator(Book, {
          orderBy: { publishedAt: 'asc' },
          partition: parts[1],
          chunkSize: 10,
          batchYieldSize: 10,
          prefetch: 0,
        }))
          rows += batch.length
        expect(rows).toBeGreaterThan(30)
        const seeks = statements.filter(([sql]) => / from "books" .* where .* limit /i.test(sql))
        expect(seeks.length).toBeGreaterThanOrEqual(4)
        await withConnection(db.url, async (c) => {
          await c.query('set enable_seqscan = off')
          await c.query('set enable_bitmapscan = off')
          await c.query('set enable_sort = off')
          for (const [sql, params] of seeks) {
            const plan = (
              await c.query<{ 'QUERY PLAN': string }>(
                `explain ${traced.em.getPlatform().formatQuery(sql, [...params])}`,
              )
            )
              .map((r) => r['QUERY PLAN'])
              .join('\n')
            expect(plan, sql).toMatch(/Index Scan using books_published_at_id_idx/)
            expect(plan, sql).toMatch(/Index Cond: \(\(published_at >= .*\) AND \(published_at <= .*\)\)/)
            expect(plan, sql).not.toMatch(/Sort/)
          }
        })
      } finally {
        await traced.close()
      }
    })
  }
}
