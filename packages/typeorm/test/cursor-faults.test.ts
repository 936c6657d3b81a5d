import { failureOf } from '@batchyield/test-fixtures/conformance'
import 'reflect-metadata'
import { ChunkTimeoutError } from '@batchyield/batch-core'
import { listSessions, openQueryGate, openTcpProxy } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { DataSource } from 'typeorm'
import { afterEach, describe, expect, it } from 'vitest'
import { aiterator } from '../src/index.js'
import { collect } from './support/collect.js'
import { QueryCounter } from './support/data-source.js'
import { Author, Book, entities } from './support/entities.js'
import { expectCleanPool, pgPool } from './support/pool.js'

// The cursor strategy's faults beyond a killed session (faults.test.ts): a driver-side timeout, an
// abort with a FETCH in flight, a reset or black-holed network. Each on a pool of one connection,
// through batch-core's CursorSession (shared with the MikroORM adapter).

const db = useTestDatabase('postgres', { seed: true })
let opened: DataSource[] = []
afterEach(async () => {
  for (const ds of opened) await ds.destroy().catch(() => {})
  opened = []
})

async function openPool(url: string, extra: Record<string, unknown> = {}, logger?: QueryCounter): Promise<DataSource> {
  const ds = new DataSource({
    type: 'postgres',
    url,
    entities,
    synchronize: false,
    poolSize: 1,
    extra,
    ...(logger ? { logger, logging: true } : { logging: false }),
  })
  opened.push(ds)
  return ds.initialize()
}

const byId = (ds: DataSource) => ds.getRepository(Book).createQueryBuilder('b').orderBy('b.id')
const allIds = () => db.dataset.books.map((b) => b.id).sort((a, b) => a - b)

/** Waits (bounded) until no session of the test database runs a statement other than our probe. */
async function untilNoneActive(): Promise<void> {
  const deadline = Date.now() + 10_000
  while ((await listSessions(db.url)).some((s) => s.state === 'active') && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 20))
}

describe("pg's query_timeout shorter than a FETCH", () => {
  it(
    'the loop throws the driver\'s "Query read timeout"; the connection, still in the cursor\'s transaction, is destroyed: the next user of the pool writes and reads fresh data',
    { timeout: 30_000 },
    async () => {
      const ds = await openPool(db.url, { query_timeout: 300 })
      // 50 ms per row: a FETCH of 20 rows outlasts the timeout
      const slow = ds.getRepository(Book).createQueryBuilder('b').where('pg_sleep(0.05) IS NOT NULL').orderBy('b.id')
      const error = await failureOf(
        collect(aiterator(slow, { batchYieldSize: 20, chunkSize: 20, strategy: 'cursor', prefetch: 0 })),
      )
      expect((error as Error).message).toBe('Query read timeout')
      await untilNoneActive() // the FETCH the driver gave up on has ended on the server
      const [first] = allIds()
      await ds.query("UPDATE books SET title = 'written after the timeout' WHERE id = $1", [first])
      expect(await ds.query('SELECT title FROM books WHERE id = $1', [first])).toEqual([
        { title: 'written after the timeout' },
      ])
      await expectCleanPool(ds, db.url, db.name)
    },
  )
})

describe('abort while a FETCH runs: nothing new is sent, the FETCH is cancelled on the server', () => {
  for (const gateAfterAbort of ['stays shut', 'opens right after the loop threw'] as const) {
    it(
      `the loop throws the reason; the gate ${gateAfterAbort}; the only statement after the throw is ROLLBACK, and the pool settles`,
      { timeout: 30_000 },
      async () => {
        const logger = new QueryCounter()
        const ds = await openPool(db.url, {}, logger)
        await using gate = await openQueryGate(db.url)
        // authors: hydrating them sends no statement of its own, so the source reads ahead too
        const firstChunkEnd = db.dataset.authors.map((a) => a.id).sort((x, y) => x - y)[9]!
        const gated = ds
          .getRepository(Author)
          .createQueryBuilder('a')
          .where(`(a.id <= :end OR ${gate.condition})`, { end: firstChunkEnd })
          .orderBy('a.id')
        await gate.shut()
        const controller = new AbortController()
        const reason = new Error('stop requested')
        let loggedAtThrow = 0
        const error = await failureOf(
          (async () => {
            try {
              for await (const batch of aiterator(gated, {
                batchYieldSize: 10,
                chunkSize: 10,
                prefetch: 1,
                strategy: 'cursor',
                signal: controller.signal,
              })) {
                expect(batch).toHaveLength(10)
                expect(await gate.waiting()).toHaveLength(1) // the next chunk's FETCH waits at the gate
                controller.abort(reason)
              }
            } finally {
              loggedAtThrow = logger.queries.length
            }
          })(),
        )
        expect(error).toBe(reason)
        if (gateAfterAbort === 'opens right after the loop threw') await gate.open()
        await expectCleanPool(ds, db.url, db.name)
        expect(logger.queries.slice(loggedAtThrow).filter((sql) => sql !== 'SELECT 1 AS one')).toEqual(['ROLLBACK'])
        expect(logger.queries.filter((sql) => sql.startsWith('FETCH FORWARD'))).toHaveLength(2)
      },
    )
  }
})

describe('the network fails under a cursor run (a TCP proxy between the pool and the server)', () => {
  it(
    "reset while a FETCH runs: the loop throws the cursor's connection error with read ECONNRESET; the pool recovers",
    { timeout: 30_000 },
    async () => {
      await using proxy = await openTcpProxy(db.url)
      const ds = await openPool(proxy.url)
      await using gate = await openQueryGate(db.url)
      const gated = ds
        .getRepository(Book)
        .createQueryBuilder('b')
        .where(`(b.id <= :end OR ${gate.condition})`, { end: allIds()[9] })
        .orderBy('b.id')
      await gate.shut()
      const error = await failureOf(
        (async () => {
          for await (const _ of aiterator(gated, {
            batchYieldSize: 10,
            chunkSize: 10,
            prefetch: 0,
            strategy: 'cursor',
          })) {
            setTimeout(() => void gate.waiting().then(() => proxy.reset()), 0)
          }
        })(),
      )
      expect((error as Error).message).toMatch(
        /^The cursor's database connection was closed during the run \((read ECONNRESET|Connection terminated unexpectedly)\)/,
      )
      await gate.open()
      await expectCleanPool(ds, db.url, db.name)
      expect((await collect(aiterator(byId(ds), { batchYieldSize: 100, strategy: 'cursor' }))).flat()).toHaveLength(
        db.dataset.books.length,
      )
    },
  )

  it(
    'black-holed mid-run with chunkTimeoutMs: a ChunkTimeoutError naming the option; the connection is destroyed; once the network heals the next run reads every row',
    { timeout: 30_000 },
    async () => {
      await using proxy = await openTcpProxy(db.url)
      const ds = await openPool(proxy.url)
      let batches = 0
      const error = await failureOf(
        (async () => {
          for await (const _ of aiterator(byId(ds), {
            batchYieldSize: 10,
            chunkSize: 10,
            prefetch: 0,
            strategy: 'cursor',
            chunkTimeoutMs: 500,
          })) {
            if (++batches === 1) proxy.blackhole()
          }
        })(),
      )
      expect(error).toBeInstanceOf(ChunkTimeoutError)
      expect((error as Error).message).toMatch(
        /^The cursor's FETCH of 10 rows did not finish within chunkTimeoutMs \(500 ms\): it was cancelled on the server and the run ended/,
      )
      expect(batches).toBe(1)
      // destroyed, not pooled: the pool holds nothing, and nobody waits
      const pool = pgPool(ds)
      await expect.poll(() => pool.totalCount, { timeout: 5_000 }).toBe(0)
      expect(pool.waitingCount).toBe(0)
      proxy.heal()
      await expectCleanPool(ds, db.url, db.name)
      expect(
        (await collect(aiterator(byId(ds), { batchYieldSize: 100, strategy: 'cursor', chunkTimeoutMs: 5_000 })))
          .flat()
          .map((b) => b.id),
      ).toEqual(allIds())
    },
  )
})

describe('chunkTimeoutMs is checked like every option', () => {
  it.each([
    [0, RangeError],
    [1.5, RangeError],
    ['500', TypeError],
  ] as const)('%j: %s naming the option, at the call, before any query', async (value, type) => {
    const logger = new QueryCounter()
    const ds = await openPool(db.url, {}, logger)
    logger.queries = []
    expect(() => aiterator(byId(ds), { chunkTimeoutMs: value as never })).toThrow(type)
    expect(() => aiterator(byId(ds), { chunkTimeoutMs: value as never })).toThrow(
      /^chunkTimeoutMs must be a positive integer/,
    )
    expect(logger.queries).toEqual([])
  })
})
