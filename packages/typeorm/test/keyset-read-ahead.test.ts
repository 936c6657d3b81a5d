import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { DataSource, type Logger, QueryFailedError } from 'typeorm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { aiterator } from '../src/index.js'
import { collect, expectBatches } from './support/collect.js'
import { openDataSource } from './support/data-source.js'
import { entities, Tag } from './support/entities.js'
import { tagLoadWatcher } from './support/load-watcher.js'
import { WHOLE_CHUNKS } from './support/whole-chunks.js'

// Keyset chunks whose hydration sends no statements (known from the first chunk): with read-ahead
// (prefetch >= 1) the next chunk's SELECT is sent before this chunk is hydrated, so the database
// reads while this thread hydrates; on node-postgres the SELECT goes through pg's callback API,
// with TypeORM's logging and errors.

const db = useTestDatabase('postgres', {
  seed: { counts: { authors: 1, books: 3, tags: 345, orderLines: 0, devices: 0, countries: 0 } },
})

/** A logger that keeps what it is told about SELECTs on tags. */
class SelectLog implements Logger {
  readonly queries: { sql: string; parameters: unknown[] | undefined }[] = []
  readonly errors: { error: string | Error; sql: string }[] = []
  readonly slow: { time: number; sql: string }[] = []
  logQuery(sql: string, parameters?: unknown[]): void {
    if (/^SELECT .* FROM "tags"/s.test(sql)) this.queries.push({ sql, parameters })
  }
  logQueryError(error: string | Error, sql: string): void {
    this.errors.push({ error, sql })
  }
  logQuerySlow(time: number, sql: string): void {
    if (/^SELECT .* FROM "tags"/s.test(sql)) this.slow.push({ time, sql })
  }
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}
}

describe('the SELECT of the next keyset chunk is sent before this chunk is hydrated', () => {
  for (const prefetch of [0, 1]) {
    it(`prefetch ${prefetch}: ${prefetch === 0 ? 'no: each SELECT follows the previous chunk' : 'yes, from the second chunk on'}`, async () => {
      const log = new SelectLog()
      /** For each tag loaded, how many SELECTs had been sent by then. */
      const sentAtLoad: number[] = []
      const watcher = tagLoadWatcher(() => sentAtLoad.push(log.queries.length))
      const ds = await new DataSource({
        type: 'postgres',
        url: db.url,
        entities,
        subscribers: [watcher],
        logger: log,
        logging: true,
      }).initialize()
      try {
        const query = ds.getRepository(Tag).createQueryBuilder('t').orderBy('t.id')
        const batches = await collect(
          aiterator(query, { chunkSize: 50, batchYieldSize: 50, prefetch, ...WHOLE_CHUNKS }),
        )
        expect(batches.flat().map((t) => t.id)).toEqual(Array.from({ length: 345 }, (_, i) => i + 1))
      } finally {
        await ds.destroy()
      }
      expect(sentAtLoad).toHaveLength(345)
      // chunk k (1-based) holds tags 50(k-1)+1 … 50k; 7 chunks, the last one short
      const sentAtChunk = Array.from({ length: 7 }, (_, k) => sentAtLoad[50 * k]!)
      // with read-ahead, chunk 7 (the short one) was read while chunk 6 was hydrated, and
      // being short, it ends the reading: no SELECT after it either way
      expect(sentAtChunk).toEqual(prefetch === 0 ? [1, 2, 3, 4, 5, 6, 7] : [1, 3, 4, 5, 6, 7, 7])
      expect(log.queries).toHaveLength(7)
    })
  }
})

describe('read-ahead and limits', () => {
  let ds: DataSource
  beforeAll(async () => {
    ds = await openDataSource('postgres', db.url)
  })
  afterAll(async () => {
    await ds?.destroy()
  })

  it.each([
    { limit: 250, chunkSize: 100, batchYieldSize: 30 },
    { limit: 101, chunkSize: 50, batchYieldSize: 7 },
    { limit: 345, chunkSize: 115, batchYieldSize: 115 },
  ])(
    'a read sent ahead with chunkSize, then a smaller last request (limit $limit, chunkSize $chunkSize, batchYieldSize $batchYieldSize): equal getMany()',
    async (options) => {
      const tags = () => ds.getRepository(Tag).createQueryBuilder('t').orderBy('t.name', 'DESC').addOrderBy('t.id')
      const expected = (await tags().getMany()).slice(0, options.limit)
      const batches = await collect(aiterator(tags(), { ...options, prefetch: 1, ...WHOLE_CHUNKS }))
      expectBatches(batches, expected, options.batchYieldSize, (t) => t.id)
    },
  )
})

describe("the chunk SELECTs get TypeORM's logging and errors", () => {
  it('the logger sees every chunk SELECT with its parameters', async () => {
    const log = new SelectLog()
    const ds = await new DataSource({
      type: 'postgres',
      url: db.url,
      entities,
      logger: log,
      logging: true,
    }).initialize()
    try {
      const batches = await collect(
        aiterator(ds.getRepository(Tag).createQueryBuilder('t').orderBy('t.id'), {
          chunkSize: 100,
          batchYieldSize: 100,
          ...WHOLE_CHUNKS,
        }),
      )
      expect(batches.flat()).toHaveLength(345)
    } finally {
      await ds.destroy()
    }
    // 4 chunks, the last short; the seek parameters hold the previous chunk's last key (as text)
    expect(log.queries).toHaveLength(4)
    expect(log.queries.slice(1).map((q) => q.parameters)).toEqual([
      expect.arrayContaining(['100']),
      expect.arrayContaining(['200']),
      expect.arrayContaining(['300']),
    ])
  })

  it('a chunk SELECT that fails rejects with a QueryFailedError naming the SQL, and the logger is told', async () => {
    const log = new SelectLog()
    const ds = await new DataSource({
      type: 'postgres',
      url: db.url,
      entities,
      logger: log,
      logging: true,
      poolSize: 2,
    }).initialize()
    try {
      // division by zero at tag 120, in the third chunk
      const query = ds.getRepository(Tag).createQueryBuilder('t').where('1 / (t.id - 120) > -1000').orderBy('t.id')
      const seen: number[] = []
      const error = await (async () => {
        for await (const batch of aiterator(query, { chunkSize: 50, batchYieldSize: 50, prefetch: 1, ...WHOLE_CHUNKS }))
          seen.push(...batch.map((t) => t.id))
      })().then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(QueryFailedError)
      expect((error as QueryFailedError).message).toMatch(/division by zero/)
      expect((error as QueryFailedError).query).toMatch(/^SELECT .* FROM "tags"/s)
      expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => i + 1))
      expect(log.errors.map((e) => e.sql)).toEqual([(error as QueryFailedError).query])
      // the pool is whole again
      expect(await ds.getRepository(Tag).count()).toBe(345)
    } finally {
      await ds.destroy()
    }
  })

  it('a chunk SELECT slower than maxQueryExecutionTime is logged as slow', async () => {
    const log = new SelectLog()
    const ds = await new DataSource({
      type: 'postgres',
      url: db.url,
      entities,
      logger: log,
      logging: true,
      maxQueryExecutionTime: 20,
    }).initialize()
    try {
      const query = ds.getRepository(Tag).createQueryBuilder('t').where('pg_sleep(0.001) IS NOT NULL').orderBy('t.id')
      const batches = await collect(
        aiterator(query, { chunkSize: 40, batchYieldSize: 40, limit: 120, ...WHOLE_CHUNKS }),
      )
      expect(batches.flat()).toHaveLength(120)
    } finally {
      await ds.destroy()
    }
    // each chunk reads 40 rows at >= 1 ms each
    expect(log.slow.length).toBeGreaterThanOrEqual(3)
    expect(log.slow.every((s) => s.time > 20)).toBe(true)
  })
})

describe("on the caller's query runner", () => {
  it("reads ahead inside the caller's transaction: its uncommitted rows in every chunk, and the transaction left open", async () => {
    const ds = await openDataSource('postgres', db.url, { poolSize: 1 })
    const runner = ds.createQueryRunner()
    try {
      await runner.connect()
      await runner.startTransaction()
      await runner.query("UPDATE tags SET name = 'in transaction ' || id WHERE id % 40 = 0")
      const query = ds.getRepository(Tag).createQueryBuilder('t', runner).orderBy('t.id')
      const tags = (
        await collect(aiterator(query, { chunkSize: 50, batchYieldSize: 25, prefetch: 1, ...WHOLE_CHUNKS }))
      ).flat()
      expect(tags.map((t) => t.id)).toEqual(Array.from({ length: 345 }, (_, i) => i + 1))
      expect(tags.filter((t) => t.name.startsWith('in transaction ')).map((t) => t.id)).toEqual([
        40, 80, 120, 160, 200, 240, 280, 320,
      ])
      expect(runner.isTransactionActive).toBe(true)
      await runner.rollbackTransaction()
      await runner.release()
      // the pool's only connection is free again, and the update is gone
      expect(await ds.getRepository(Tag).countBy({ name: 'in transaction 40' })).toBe(0)
    } finally {
      await runner.release()
      await ds.destroy()
    }
  })
})
