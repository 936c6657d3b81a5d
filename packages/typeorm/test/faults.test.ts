import { openQueryGate, withConnection } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { type DataSource, QueryFailedError } from 'typeorm'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { aiterator } from '../src/index.js'
import { collect } from './support/collect.js'
import { openDataSource } from './support/data-source.js'
import { Book } from './support/entities.js'
import { expectCleanPool, pgPool } from './support/pool.js'

// The server takes the connection away mid-run. The loop must end with a clear error within a
// bounded time (or, for keyset, which holds nothing between chunks, simply carry on), and the pool
// must recover.

const db = useTestDatabase('postgres', { seed: true })
let ds: DataSource
beforeAll(async () => {
  ds = await openDataSource('postgres', db.url, { poolSize: 2 })
})
afterAll(async () => {
  await ds?.destroy()
})
afterEach(async () => {
  await withConnection(db.url, (c) => c.query(`ALTER DATABASE "${db.name}" RESET ALL`))
})

const books = () => ds.getRepository(Book).createQueryBuilder('b').orderBy('b.id')
const otherSession = (sql: string, params: unknown[] = []) => withConnection(db.url, (c) => c.query(sql, params))
const killBackends = () =>
  otherSession(
    'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
    [db.name],
  )
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('the backend is killed mid-run (pg_terminate_backend)', () => {
  // Bounded time: each fault test has a 20 s timeout; a hang fails it.
  it(
    'cursor: the loop throws a connection error, the pool recovers, the next run works',
    { timeout: 20_000 },
    async () => {
      let rows = 0
      await expect(async () => {
        for await (const batch of aiterator(books(), {
          batchYieldSize: 20,
          chunkSize: 20,
          prefetch: 0,
          strategy: 'cursor',
        })) {
          rows += batch.length
          if (rows === 40) await killBackends()
        }
      }).rejects.toThrow(
        /The cursor's database connection was closed during the run \((terminating connection due to administrator command|Connection terminated)/,
      )
      expect(rows).toBe(40)
      await expectCleanPool(ds, db.url, db.name)
      expect((await collect(aiterator(books(), { batchYieldSize: 100, strategy: 'cursor' }))).flat()).toHaveLength(
        db.dataset.books.length,
      )
    },
  )

  it('cursor: killed while a FETCH runs, the same clear error', { timeout: 20_000 }, async () => {
    await using gate = await openQueryGate(db.url)
    const gated = ds.getRepository(Book).createQueryBuilder('b').where(gate.condition).orderBy('b.id')
    let rows = 0
    await expect(async () => {
      for await (const batch of aiterator(gated, {
        batchYieldSize: 20,
        chunkSize: 20,
        prefetch: 1,
        strategy: 'cursor',
      })) {
        rows += batch.length
        // the read-ahead may have finished before the gate shut: then the next batch's call ends the next read
        await gate.killWaiting()
      }
    }).rejects.toThrow(
      /The cursor's database connection was closed during the run \((terminating connection due to administrator command|Connection terminated)/,
    )
    expect(rows).toBeGreaterThanOrEqual(20)
    expect(rows).toBeLessThan(db.dataset.books.length)
    await gate.close()
    await expectCleanPool(ds, db.url, db.name)
    expect((await collect(aiterator(books(), { batchYieldSize: 100, strategy: 'cursor' }))).flat()).toHaveLength(
      db.dataset.books.length,
    )
  })

  it(
    "keyset with retries: 0: killed while a chunk's SELECT runs, the loop throws an error saying how to resume (the driver's as cause), the pool recovers, the next run works",
    { timeout: 20_000 },
    async () => {
      await using gate = await openQueryGate(db.url)
      const gated = ds.getRepository(Book).createQueryBuilder('b').where(gate.condition).orderBy('b.id')
      let rows = 0
      await expect(async () => {
        for await (const batch of aiterator(gated, {
          batchYieldSize: 20,
          chunkSize: 20,
          prefetch: 1,
          strategy: 'keyset',
          retries: 0,
        })) {
          rows += batch.length
          // the read-ahead may have finished before the gate shut: then the next batch's call ends the next read
          await gate.killWaiting()
        }
      }).rejects.toThrow(
        /^The keyset strategy lost its database connection while reading a chunk \((terminating connection due to administrator command|Connection terminated)[^)]*\)\. .*run again with 'after' set to the last onProgress cursor/,
      )
      expect(rows).toBeGreaterThanOrEqual(20)
      expect(rows).toBeLessThan(db.dataset.books.length)
      await gate.close()
      await expectCleanPool(ds, db.url, db.name)
      expect((await collect(aiterator(books(), { batchYieldSize: 100, strategy: 'keyset' }))).flat()).toHaveLength(
        db.dataset.books.length,
      )
    },
  )

  it(
    'keyset: killed between chunks, it holds no connection, so the run carries on and sees every row once',
    { timeout: 20_000 },
    async () => {
      const ids: number[] = []
      for await (const batch of aiterator(books(), {
        batchYieldSize: 20,
        chunkSize: 20,
        prefetch: 0,
        strategy: 'keyset',
      })) {
        ids.push(...batch.map((b) => b.id))
        if (ids.length === 40 || ids.length === 200) {
          await killBackends()
          await sleep(50) // let the pool notice its idle connections died
        }
      }
      expect(ids).toEqual(db.dataset.books.map((b) => b.id).sort((a, b) => a - b))
      await expectCleanPool(ds, db.url, db.name)
    },
  )
})

describe('server timeouts', () => {
  it(
    'cursor: idle_in_transaction_session_timeout (a slow loop body): clear error, nothing left open',
    { timeout: 20_000 },
    async () => {
      await otherSession(`ALTER DATABASE "${db.name}" SET idle_in_transaction_session_timeout = '300ms'`)
      const fresh = await openDataSource('postgres', db.url, { poolSize: 1 })
      try {
        let batches = 0
        await expect(async () => {
          for await (const _ of aiterator(fresh.getRepository(Book).createQueryBuilder('b'), {
            batchYieldSize: 50,
            chunkSize: 50,
            prefetch: 0,
            strategy: 'cursor',
          })) {
            batches++
            await sleep(800)
          }
        }).rejects.toThrow(
          /The cursor's database connection was closed during the run \((terminating connection due to idle-in-transaction timeout|Connection terminated)/,
        )
        expect(batches).toBe(1)
        await expectCleanPool(fresh, db.url, db.name)
      } finally {
        await fresh.destroy()
      }
    },
  )

  it('cursor: statement_timeout on a FETCH: clear error, nothing left open', { timeout: 20_000 }, async () => {
    await otherSession(`ALTER DATABASE "${db.name}" SET statement_timeout = '200ms'`)
    const fresh = await openDataSource('postgres', db.url, { poolSize: 1 })
    try {
      const slow = fresh.getRepository(Book).createQueryBuilder('b').where('pg_sleep(0.05) IS NOT NULL').orderBy('b.id')
      await expect(collect(aiterator(slow, { batchYieldSize: 10, chunkSize: 10, strategy: 'cursor' }))).rejects.toThrow(
        /statement timeout/,
      )
      await expectCleanPool(fresh, db.url, db.name)
    } finally {
      await fresh.destroy()
    }
  })

  it(
    'keyset: statement_timeout on a chunk query: QueryFailedError with the server message, nothing left open',
    { timeout: 20_000 },
    async () => {
      await otherSession(`ALTER DATABASE "${db.name}" SET statement_timeout = '200ms'`)
      const fresh = await openDataSource('postgres', db.url, { poolSize: 1 })
      try {
        const slow = fresh
          .getRepository(Book)
          .createQueryBuilder('b')
          .where('pg_sleep(0.05) IS NOT NULL')
          .orderBy('b.id')
        const failure = await collect(aiterator(slow, { batchYieldSize: 10, chunkSize: 10, strategy: 'keyset' })).then(
          () => undefined,
          (error: unknown) => error,
        )
        expect(failure).toBeInstanceOf(QueryFailedError)
        expect((failure as Error).message).toBe('canceling statement due to statement timeout')
        await expectCleanPool(fresh, db.url, db.name)
      } finally {
        await fresh.destroy()
      }
    },
  )
})

describe('pool exhaustion: a cursor run holds its connection until its loop ends', () => {
  const byId = (source: DataSource) => source.getRepository(Book).createQueryBuilder('b').orderBy('b.id')

  it(
    '8 cursor runs consumed concurrently on a pool of 2: the extra runs wait for a connection, and all finish',
    { timeout: 30_000 },
    async () => {
      const small = await openDataSource('postgres', db.url, { poolSize: 2 })
      try {
        const expected = (await byId(small).getMany()).map((b) => b.id)
        const runs = Array.from({ length: 8 }, (_, i) =>
          collect(aiterator(byId(small), { batchYieldSize: 20 + i, chunkSize: 25, strategy: 'cursor' })),
        )
        for (const batches of await Promise.all(runs)) expect(batches.flat().map((b) => b.id)).toEqual(expected)
        expect(pgPool(small).totalCount).toBeLessThanOrEqual(2)
        await expectCleanPool(small, db.url, db.name)
      } finally {
        await small.destroy()
      }
    },
  )

  it(
    'three cursor runs advanced in lockstep on a pool of two (connectTimeoutMS 500): the third fails with that error, the others clean up',
    { timeout: 20_000 },
    async () => {
      const two = await openDataSource('postgres', db.url, { poolSize: 2, connectTimeoutMS: 500 })
      try {
        const runs = [0, 1, 2].map(() => aiterator(byId(two), { batchYieldSize: 10, strategy: 'cursor' }))
        expect((await runs[0]!.next()).value).toHaveLength(10)
        expect((await runs[1]!.next()).value).toHaveLength(10)
        await expect(runs[2]!.next()).rejects.toThrow(
          /^strategy 'cursor' got no database connection.*2 cursor run\(s\)/,
        )
        await runs[0]!.return()
        await runs[1]!.return()
        await expectCleanPool(two, db.url, db.name)
      } finally {
        await two.destroy()
      }
    },
  )

  // On a pool of one, work started inside a cursor loop's body needs a second connection that only
  // the end of the loop returns. Without connectTimeoutMS the pool waits forever (pg's default); with
  // it, the wait ends in an error and the loop's clean-up returns the connection.
  describe('nested work on a pool of one (connectTimeoutMS 500)', () => {
    let one: DataSource
    beforeAll(async () => {
      one = await openDataSource('postgres', db.url, { poolSize: 1, connectTimeoutMS: 500 })
    })
    afterAll(async () => {
      await one?.destroy()
    })

    it(
      "a query in the loop body fails with the pool's acquire timeout; nothing is left open",
      { timeout: 20_000 },
      async () => {
        let batches = 0
        await expect(async () => {
          for await (const _ of aiterator(byId(one), { batchYieldSize: 10, strategy: 'cursor' })) {
            batches++
            await one.getRepository(Book).count()
          }
        }).rejects.toThrow(/timeout exceeded when trying to connect/)
        expect(batches).toBe(1)
        await expectCleanPool(one, db.url, db.name)
      },
    )

    it(
      'a cursor run started in the loop body fails with an error naming the cause and the fix; nothing is left open',
      { timeout: 20_000 },
      async () => {
        await expect(async () => {
          for await (const _ of aiterator(byId(one), { batchYieldSize: 10, strategy: 'cursor' })) {
            for await (const __ of aiterator(byId(one), { batchYieldSize: 10, strategy: 'cursor' })) break
          }
        }).rejects.toThrow(
          /^strategy 'cursor' got no database connection from the pool within connectTimeoutMS \(timeout exceeded when trying to connect\); 1 cursor run\(s\) of this data source hold one each.*Use strategy 'keyset'/,
        )
        await expectCleanPool(one, db.url, db.name)
      },
    )

    it(
      'keyset holds no connection between chunks: a query and another keyset run in the loop body just work',
      { timeout: 20_000 },
      async () => {
        const allIds = db.dataset.books.map((b) => b.id).sort((a, b) => a - b)
        const seen: number[] = []
        for await (const batch of aiterator(byId(one), { batchYieldSize: 50, strategy: 'keyset' })) {
          seen.push(...batch.map((b) => b.id))
          expect(await one.getRepository(Book).count()).toBe(db.dataset.books.length)
          const inner = (
            await collect(aiterator(byId(one), { batchYieldSize: 7, limit: 14, strategy: 'keyset' }))
          ).flat()
          expect(inner.map((b) => b.id)).toEqual(allIds.slice(0, 14))
        }
        expect(seen).toEqual(allIds)
        await expectCleanPool(one, db.url, db.name)
      },
    )
  })
})
