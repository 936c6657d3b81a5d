/**
 * The cursor strategy's faults beyond a killed session (faults.postgres.test.ts) and a FETCH outlasting
 * pg's `query_timeout` on a reachable server (cursor-query-timeout.postgres.test.ts): `query_timeout`
 * across a network cut, a network that resets or black-holes the connection (a TCP proxy on loopback
 * between the pool and the server), `chunkTimeoutMs` inside the caller's transaction. Each on a
 * pool of one connection, through batch-core's CursorSession (shared with the TypeORM adapter):
 * a connection whose transaction end is not confirmed is destroyed, never pooled.
 */
import { failureOf } from '@batchyield/test-fixtures/conformance'
import { ChunkTimeoutError } from '@batchyield/batch-core'
import { openQueryGate, openTcpProxy } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { ConnectionException, raw } from '@mikro-orm/core'
import { afterEach, describe, expect, it } from 'vitest'
import '../src/index.js'
import { Book } from './entities.js'
import {
  expectSettled,
  nextUserWritesAndReads,
  onKnex,
  openOrm,
  pgClientOptions,
  pkOf,
  poolState,
  type TestOrm,
  untilNoneActive,
  within,
} from './support.js'

const db = useTestDatabase('postgres', { seed: true })
let t: TestOrm | undefined
afterEach(async () => {
  await t?.close()
  t = undefined
})

const allIds = () => db.dataset.books.map((b) => b.id).sort((a, b) => a - b)
// a FETCH outlasting query_timeout on a reachable server: cursor-query-timeout.postgres.test.ts
describe("pg's query_timeout shorter than a FETCH (issue 16)", () => {
  it('a network cut that heals after the timeout: the loop throws "Query read timeout"; once the old FETCH has come back the next user writes and reads fresh data', async () => {
    await using proxy = await openTcpProxy(db.url)
    t = openOrm('postgres', proxy.url, {
      pool: { min: 0, max: 1 },
      driverOptions: pgClientOptions({ query_timeout: 500 }),
    })
    let batches = 0
    const error = await within(
      10_000,
      failureOf(
        (async () => {
          for await (const _ of t!.em.aiterator(Book, {
            strategy: 'cursor',
            chunkSize: 20,
            batchYieldSize: 20,
            prefetch: 0,
          })) {
            if (++batches === 1) proxy.blackhole()
          }
        })(),
      ),
      'a cursor run across a network cut',
    )
    expect((error as Error).message).toMatch(/Query read timeout/)
    proxy.heal()
    await untilNoneActive(db.url)
    await nextUserWritesAndReads(t, allIds()[0]!)
    await expectSettled(t.orm, db.url, db.name)
  })
})

describe('the connection is reset (TCP RST through a proxy)', () => {
  for (const when of ['while a FETCH runs', 'between two FETCHes'] as const) {
    it(`${when}: the documented ConnectionException, with the driver's ECONNRESET as its cause; the pool recovers`, async () => {
      await using proxy = await openTcpProxy(db.url)
      await using gate = await openQueryGate(db.url)
      t = openOrm('postgres', proxy.url, { pool: { min: 0, max: 1 } })
      const firstChunkEnd = allIds()[9]!
      const where = { [raw(`(id <= ${firstChunkEnd} or ${gate.condition})`)]: true }
      await gate.shut()
      const error = await within(
        10_000,
        failureOf(
          (async () => {
            for await (const _ of t!.em.aiterator(Book, {
              where,
              strategy: 'cursor',
              chunkSize: 10,
              batchYieldSize: 10,
              prefetch: 0,
            })) {
              if (when === 'between two FETCHes') {
                proxy.reset()
                await new Promise((resolve) => setTimeout(resolve, 50)) // the client reads the reset
              } else setTimeout(() => void gate.waiting().then(() => proxy.reset()), 0)
            }
          })(),
        ),
        'a cursor run across a reset',
      )
      await gate.open()
      expect(error).toBeInstanceOf(ConnectionException)
      expect((error as Error).message).toMatch(
        // before 7.2 MikroORM runs the statement: 6.x names it, 7.0/7.1 report a reset seen between two statements as pg's "not queryable"
        /^The cursor strategy lost its database connection after reading 10 rows \(the session was terminated or the connection dropped\): (fetch forward \d+ from "\w+" - )?(read ECONNRESET|Client has encountered a connection error and is not queryable)\. A server-side cursor cannot continue/,
      )
      if (process.env.MIKRO_ORM_LINE === '7.2')
        expect(((error as Error).cause as { code?: unknown }).code).toBe('ECONNRESET')
      await untilNoneActive(db.url)
      const ids: string[] = []
      for await (const books of t.em.aiterator(Book, { strategy: 'cursor', chunkSize: 50, batchYieldSize: 50 }))
        ids.push(...books.map(pkOf))
      expect(ids).toHaveLength(db.dataset.books.length)
      await expectSettled(t.orm, db.url, db.name)
    })
  }
})

describe('chunkTimeoutMs bounds a cursor run on a black-holed connection', () => {
  for (const populate of [[], ['author']] as const) {
    it(`${populate.length === 0 ? 'a plain read' : 'with populate'}: a ChunkTimeoutError naming the option; the connection is destroyed; once the network heals the next run reads every row`, async () => {
      await using proxy = await openTcpProxy(db.url)
      t = openOrm('postgres', proxy.url, { pool: { min: 0, max: 1 } })
      let batches = 0
      const error = await within(
        10_000,
        failureOf(
          (async () => {
            for await (const _ of t!.em.aiterator(Book, {
              strategy: 'cursor',
              chunkSize: 10,
              batchYieldSize: 10,
              prefetch: 0,
              chunkTimeoutMs: 500,
              populate: [...populate] as never,
            })) {
              if (++batches === 1) proxy.blackhole()
            }
          })(),
        ),
        'a cursor run on a black-holed connection',
      )
      expect(error).toBeInstanceOf(ChunkTimeoutError)
      expect((error as Error).message).toMatch(
        /^The cursor's FETCH of 10 rows did not finish within chunkTimeoutMs \(500 ms\): it was cancelled on the server and the run ended/,
      )
      expect(batches).toBe(1)
      // destroyed, not pooled (Knex's pool, MikroORM 6, counts the ended connection until its next acquire drops it)
      if (!onKnex()) await expect.poll(async () => (await poolState(t!.orm)).total, { timeout: 5_000 }).toBe(0)
      proxy.heal()
      await untilNoneActive(db.url)
      const ids: string[] = []
      for await (const books of t.em.aiterator(Book, {
        strategy: 'cursor',
        chunkSize: 50,
        batchYieldSize: 50,
        chunkTimeoutMs: 5_000,
      }))
        ids.push(...books.map(pkOf))
      expect(ids).toHaveLength(db.dataset.books.length)
      await expectSettled(t.orm, db.url, db.name)
    })
  }

  it("inside em.transactional: the FETCH is cancelled (which aborts the caller's transaction), the loop and the transaction reject with the ChunkTimeoutError, the connection goes back", async () => {
    await using gate = await openQueryGate(db.url)
    t = openOrm('postgres', db.url, { pool: { min: 0, max: 1 } })
    const where = { [raw(`(id <= ${allIds()[9]} or ${gate.condition})`)]: true }
    await gate.shut()
    const error = await within(
      10_000,
      failureOf(
        t.em.fork().transactional(async (em) => {
          for await (const _ of em.aiterator(Book, {
            where,
            strategy: 'cursor',
            chunkSize: 10,
            batchYieldSize: 10,
            prefetch: 0,
            chunkTimeoutMs: 300,
          }));
        }),
      ),
      'a cursor run in a transaction at a shut gate',
    )
    expect(error).toBeInstanceOf(ChunkTimeoutError)
    // cancelled, not left waiting at the (still shut) gate
    await expectSettled(t.orm, db.url, db.name)
    await nextUserWritesAndReads(t, allIds()[0]!)
  })
})

describe('options', () => {
  it('chunkTimeoutMs is checked like every option: a RangeError or TypeError naming it, at the call, before any query', () => {
    t = openOrm('postgres', db.url)
    for (const value of [0, -1, 1.5, Number.NaN])
      expect(() => t!.em.aiterator(Book, { chunkTimeoutMs: value })).toThrow(
        /^chunkTimeoutMs must be a positive integer/,
      )
    expect(() => t!.em.aiterator(Book, { chunkTimeoutMs: '500' as never })).toThrow(TypeError)
    expect(t.queries).toEqual([])
  })
})
