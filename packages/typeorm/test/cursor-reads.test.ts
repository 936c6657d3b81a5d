import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import pg from 'pg'
import {
  type BeforeQueryEvent,
  DataSource,
  type EntitySubscriberInterface,
  EventSubscriber,
  type ObjectLiteral,
  type QueryRunner,
  type SelectQueryBuilder,
} from 'typeorm'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { aiterator } from '../src/index.js'
import { collect, expectBatches } from './support/collect.js'
import { openDataSource, QueryCounter } from './support/data-source.js'
import { Author, Book, entities } from './support/entities.js'
import { expectCleanPool } from './support/pool.js'

// The cursor strategy reads its chunks with the wire protocol's Execute of the declared cursor
// (rows stream as the server reads them) rather than FETCH statements (which the server stores
// whole before sending). The rows are parsed by the same node-postgres code with the same type
// parsers, so the entities must be exactly getMany()'s, whichever way the chunks were read.

const db = useTestDatabase('postgres', { seed: true })

/** Statements that go through TypeORM's queryRunner.query() (what subscribers see), from now on. */
const statementsThroughRunner = (ds: DataSource) =>
  vi.spyOn(Object.getPrototypeOf(ds.createQueryRunner()) as QueryRunner, 'query')
const fetches = (statements: readonly string[]) => statements.filter((sql) => sql.startsWith('FETCH FORWARD'))

const shapes: { name: string; query: (ds: DataSource) => SelectQueryBuilder<ObjectLiteral> }[] = [
  // Relation ids (an extra query per chunk), a column transformer and an @AfterLoad listener.
  {
    name: 'books with relation ids and listeners',
    query: (ds) =>
      ds
        .getRepository(Book)
        .createQueryBuilder('b')
        .orderBy('b.publishedAt', 'DESC', 'NULLS LAST')
        .addOrderBy('b.id', 'DESC'),
  },
  // Embedded columns, nothing loaded by statements of its own: each read is sent ahead of hydration.
  {
    name: 'authors',
    query: (ds) => ds.getRepository(Author).createQueryBuilder('a').orderBy('a.createdAt').addOrderBy('a.id'),
  },
  // A to-many join: an entity's rows may straddle two reads.
  {
    name: 'authors with their books (to-many join)',
    query: (ds) =>
      ds
        .getRepository(Author)
        .createQueryBuilder('a')
        .leftJoinAndSelect('a.books', 'b')
        .orderBy('a.id')
        .addOrderBy('b.id'),
  },
]

afterEach(() => {
  vi.restoreAllMocks()
})

describe('chunks read by Execute of the declared cursor', () => {
  const logger = new QueryCounter()
  let ds: DataSource
  beforeAll(async () => {
    ds = await openDataSource('postgres', db.url, { poolSize: 1, logger })
  })
  afterAll(async () => {
    await ds?.destroy()
  })

  for (const shape of shapes) {
    it(`${shape.name}: equal getMany(), no FETCH statement through queryRunner.query(), each read logged as its FETCH`, async () => {
      const expected = await shape.query(ds).getMany()
      logger.queries = []
      const runnerQuery = statementsThroughRunner(ds)
      const batches = await collect(aiterator(shape.query(ds), { batchYieldSize: 4, chunkSize: 7, strategy: 'cursor' }))
      expectBatches(batches, expected, 4, (e) => e.id)
      const throughRunner = runnerQuery.mock.calls.map(([sql]) => String(sql))
      expect(throughRunner.filter((sql) => sql.startsWith('DECLARE'))).toHaveLength(1) // the spy sees the runner's statements
      expect(fetches(throughRunner)).toEqual([])
      expect(fetches(logger.queries).length).toBeGreaterThanOrEqual(Math.ceil(expected.length / 7))
      await expectCleanPool(ds, db.url, db.name)
    })
  }
})

@EventSubscriber()
class QueryWatcher implements EntitySubscriberInterface {
  static queries: string[] = []
  beforeQuery(event: BeforeQueryEvent): void {
    QueryWatcher.queries.push(event.query)
  }
}

describe('with a query subscriber, chunks are FETCH statements it sees', () => {
  let ds: DataSource
  beforeAll(async () => {
    ds = await new DataSource({
      type: 'postgres',
      url: db.url,
      entities,
      subscribers: [QueryWatcher],
      poolSize: 1,
      logging: false,
    }).initialize()
  })
  afterAll(async () => {
    await ds?.destroy()
  })

  for (const shape of shapes) {
    it(`${shape.name}: equal getMany(), every read seen by beforeQuery`, async () => {
      const expected = await shape.query(ds).getMany()
      QueryWatcher.queries = []
      const batches = await collect(aiterator(shape.query(ds), { batchYieldSize: 4, chunkSize: 7, strategy: 'cursor' }))
      expectBatches(batches, expected, 4, (e) => e.id)
      expect(fetches(QueryWatcher.queries).length).toBeGreaterThanOrEqual(Math.ceil(expected.length / 7))
    })
  }
})

describe("the client's own type parsers (pg `types`) apply to the chunks as to getMany()", () => {
  let ds: DataSource
  beforeAll(async () => {
    const types = {
      getTypeParser: (oid: number, format?: 'text' | 'binary') =>
        oid === pg.types.builtins.TEXT ? (value: string) => `text:${value}` : pg.types.getTypeParser(oid, format),
    }
    ds = await new DataSource({
      type: 'postgres',
      url: db.url,
      entities,
      poolSize: 1,
      logging: false,
      extra: { types },
    }).initialize()
  })
  afterAll(async () => {
    await ds?.destroy()
  })

  it('books: text columns parsed by the override, entities equal getMany()', async () => {
    const query = () => ds.getRepository(Book).createQueryBuilder('b').orderBy('b.id')
    const expected = await query().getMany()
    expect(expected[0]!.title).toMatch(/^text:/)
    const batches = await collect(aiterator(query(), { batchYieldSize: 10, chunkSize: 9, strategy: 'cursor' }))
    expectBatches(batches, expected, 10, (e) => e.id)
  })
})

describe('the next read is sent before a chunk is hydrated, with prefetch >= 1 and no statements sent by hydration', () => {
  const logger = new QueryCounter()
  let ds: DataSource
  beforeAll(async () => {
    ds = await openDataSource('postgres', db.url, { poolSize: 1, logger })
  })
  afterAll(async () => {
    await ds?.destroy()
  })
  const authors = () => ds.getRepository(Author).createQueryBuilder('a').orderBy('a.id')
  const books = () => ds.getRepository(Book).createQueryBuilder('b').orderBy('b.id')

  it('prefetch 0: leaving after the first chunk, one read was sent; prefetch 1: the read ahead too', async () => {
    for (const [prefetch, reads] of [
      [0, 1],
      [1, 3], // the engine's read-ahead of chunk 2, and chunk 3 sent while chunk 2 was hydrated
    ] as const) {
      logger.queries = []
      for await (const _ of aiterator(authors(), { batchYieldSize: 7, chunkSize: 7, prefetch, strategy: 'cursor' })) {
        await new Promise((resolve) => setTimeout(resolve, 100)) // the read-ahead settles
        break
      }
      expect(fetches(logger.queries)).toHaveLength(reads)
      await expectCleanPool(ds, db.url, db.name)
    }
  })

  it('hydration that loads relation ids (a statement per chunk): no read is sent ahead of it', async () => {
    logger.queries = []
    for await (const _ of aiterator(books(), { batchYieldSize: 7, chunkSize: 7, prefetch: 1, strategy: 'cursor' })) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      break
    }
    expect(fetches(logger.queries)).toHaveLength(2)
  })

  it.each([1, 3])('limit (not a multiple of chunkSize), prefetch %i: getMany() with take()', async (prefetch) => {
    for (const limit of [1, 10, 23]) {
      const expected = await authors().take(limit).getMany()
      const batches = await collect(
        aiterator(authors(), { batchYieldSize: 4, chunkSize: 7, limit, prefetch, strategy: 'cursor' }),
      )
      expectBatches(batches, expected, 4, (e) => e.id)
    }
  })

  it('a read ahead that fails after the loop has left is not reported; the transaction is rolled back, nothing left open', async () => {
    // Division by zero once the cursor reaches id 30: in the third chunk of ten.
    const failsAt30 = () => authors().where('1 / (a.id - 30) IS NOT NULL')
    await expect(
      collect(aiterator(failsAt30(), { batchYieldSize: 10, chunkSize: 10, prefetch: 1, strategy: 'cursor' })),
    ).rejects.toThrow(/division by zero/)
    await expectCleanPool(ds, db.url, db.name)
    const seen: number[] = []
    for await (const batch of aiterator(failsAt30(), {
      batchYieldSize: 10,
      chunkSize: 10,
      prefetch: 1,
      strategy: 'cursor',
    })) {
      seen.push(...batch.map((b) => b.id))
      await new Promise((resolve) => setTimeout(resolve, 100)) // chunk 2 read and hydrated, chunk 3's read failed
      break
    }
    expect(seen).toHaveLength(10)
    expect(logger.queries.at(-1)).toBe('ROLLBACK')
    await expectCleanPool(ds, db.url, db.name)
  })
})
