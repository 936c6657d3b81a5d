import { openQueryGate, openTcpProxy, withConnection } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import type { DataSource } from 'typeorm'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { aiterator } from '../src/index.js'
import { openDataSource, QueryCounter } from './support/data-source.js'
import { Book } from './support/entities.js'
import { expectCleanPool } from './support/pool.js'

// A keyset chunk read is idempotent: a read that lost its connection is read again (with back-off,
// up to `retries`), so a run rides out killed sessions; and after an abort nothing new is sent.

const db = useTestDatabase('postgres', { seed: true })
const logger = new QueryCounter()
let ds: DataSource
beforeAll(async () => {
  ds = await openDataSource('postgres', db.url, { poolSize: 2, logger })
})
afterAll(async () => {
  await ds?.destroy()
})
beforeEach(() => {
  logger.queries = []
})

const allIds = () => db.dataset.books.map((b) => b.id).sort((a, b) => a - b)
const chunkSelects = () =>
  logger.queries.filter((sql) => sql.startsWith('SELECT') && sql.includes('"books"') && sql.includes('LIMIT'))

describe('keyset rides out a lost connection', () => {
  it(
    "killed while a chunk's SELECT runs, ten runs out of ten: the read is retried and every row comes exactly once",
    { timeout: 60_000 },
    async () => {
      let kills = 0
      for (let trial = 0; trial < 10; trial++) {
        await using gate = await openQueryGate(db.url)
        const query = ds.getRepository(Book).createQueryBuilder('b').where(gate.condition).orderBy('b.id')
        const ids: number[] = []
        let killed: Promise<number[]> | undefined
        for await (const batch of aiterator(query, {
          batchYieldSize: 20,
          chunkSize: 20,
          prefetch: trial % 2,
          strategy: 'keyset',
        })) {
          ids.push(...batch.map((b) => b.id))
          // not awaited: with prefetch 0 the next read starts only once this body returns. The gate
          // shuts, the read waiting at it is killed, the gate opens for the retry.
          if (ids.length === 20 * (1 + (trial % 4))) killed = gate.killWaiting(5000).finally(() => gate.open())
        }
        // a read that got past the gate before it shut is not killed (under load, now and then)
        kills += (await killed)?.length ?? 0
        expect(ids, `trial ${trial}`).toEqual(allIds())
      }
      expect(kills).toBeGreaterThanOrEqual(5)
      await expectCleanPool(ds, db.url, db.name)
    },
  )

  it('every session killed twice during the run: still every row once', { timeout: 30_000 }, async () => {
    const ids: number[] = []
    const kill = () =>
      withConnection(db.url, (c) =>
        c.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
          [db.name],
        ),
      )
    for await (const batch of aiterator(
      ds.getRepository(Book).createQueryBuilder('b').orderBy('b.publishedAt', 'DESC'),
      { batchYieldSize: 10, chunkSize: 10, prefetch: 1 },
    )) {
      ids.push(...batch.map((b) => b.id))
      if (ids.length === 30 || ids.length === 150) await kill() // the read sent ahead dies with its session
    }
    expect([...ids].sort((a, b) => a - b)).toEqual(allIds())
    expect(new Set(ids).size).toBe(ids.length)
  })
})

describe('after an abort nothing new is sent', () => {
  for (const prefetch of [0, 1, 2]) {
    it(`prefetch ${prefetch}: no chunk SELECT goes out once the signal has aborted`, async () => {
      const controller = new AbortController()
      let sentAtAbort = -1
      await expect(async () => {
        for await (const _ of aiterator(ds.getRepository(Book).createQueryBuilder('b').orderBy('b.id'), {
          batchYieldSize: 5,
          chunkSize: 5,
          prefetch,
          strategy: 'keyset',
          signal: controller.signal,
        })) {
          if (chunkSelects().length >= 3) {
            sentAtAbort = chunkSelects().length
            controller.abort(new Error('stop'))
          }
        }
      }).rejects.toThrow('stop')
      await new Promise((resolve) => setTimeout(resolve, 300))
      expect(chunkSelects().length).toBe(sentAtAbort)
      await expectCleanPool(ds, db.url, db.name)
    })
  }

  for (const prefetch of [0, 1]) {
    it(
      `prefetch ${prefetch}: a chunk SELECT running when the signal aborts is cancelled on the server, not left to finish`,
      { timeout: 20_000 },
      async () => {
        await using gate = await openQueryGate(db.url)
        const controller = new AbortController()
        const query = ds.getRepository(Book).createQueryBuilder('b').where(gate.condition).orderBy('b.id')
        let waiting: number[] = []
        let armed = false
        await expect(async () => {
          for await (const _ of aiterator(query, {
            batchYieldSize: 10,
            chunkSize: 10,
            prefetch,
            strategy: 'keyset',
            signal: controller.signal,
          })) {
            // armed once, synchronously: a batch read ahead can reach this body again before the timer below
            // has run, and a second timer would query the gate after the test closed it
            if (armed) continue
            armed = true
            await gate.shut()
            setTimeout(async () => {
              waiting = await gate.waiting(5000) // the next chunk's read, stuck at the shut gate
              controller.abort(new Error('stop'))
            }, 0)
          }
        }).rejects.toThrow('stop')
        expect(waiting).toHaveLength(1)
        // the gate is still shut: only a cancel ends that statement
        for (let i = 0; i < 100 && (await gate.waiting(0)).length > 0; i++)
          await new Promise((resolve) => setTimeout(resolve, 20))
        expect(await gate.waiting(0)).toEqual([])
        await gate.open()
        await expectCleanPool(ds, db.url, db.name)
      },
    )
  }
})

describe.each(['keyset', 'cursor'] as const)(
  '%s: leaving the loop while a chunk is read ahead cancels its statement on the server',
  (strategy) => {
    /** Statements that read a chunk: keyset's SELECT, the cursor's FETCH. */
    const chunkReads = () =>
      strategy === 'keyset' ? chunkSelects() : logger.queries.filter((sql) => sql.startsWith('FETCH FORWARD'))
    for (const exit of ['break', 'throw', 'return()'] as const) {
      it(
        `${exit}: the statement read ahead, stuck at a shut gate, is cancelled, not left to finish; no chunk is read after the exit`,
        { timeout: 20_000 },
        async () => {
          await using gate = await openQueryGate(db.url)
          // the first chunk's rows pass the gate; the next chunk's wait at it
          const firstChunkEnd = allIds()[9]!
          const query = ds
            .getRepository(Book)
            .createQueryBuilder('b')
            .where(`(b.id <= :end OR ${gate.condition})`, { end: firstChunkEnd })
            .orderBy('b.id')
          await gate.shut()
          const iterator = aiterator(query, { batchYieldSize: 10, chunkSize: 10, prefetch: 1, strategy })
          let waiting: number[] = []
          let readAtExit = 0
          const failure = new Error('consumer failed')
          const outcome = await (async () => {
            for await (const batch of iterator) {
              expect(batch).toHaveLength(10)
              waiting = await gate.waiting(5000) // the chunk read ahead, stuck at the shut gate
              readAtExit = chunkReads().length
              if (exit === 'throw') throw failure
              if (exit === 'return()') {
                await iterator.return(undefined)
                return
              }
              break
            }
          })().then(
            () => undefined,
            (e: unknown) => e,
          )
          expect(outcome).toBe(exit === 'throw' ? failure : undefined)
          expect(waiting).toHaveLength(1)
          // the gate is still shut: only a cancel ends that statement
          await expect.poll(() => gate.waiting(0), { timeout: 5_000 }).toEqual([])
          await gate.open()
          await expectCleanPool(ds, db.url, db.name)
          expect(chunkReads().length).toBe(readAtExit)
        },
      )
    }
  },
)

describe('MariaDB: a chunk SELECT running when the signal aborts is ended with KILL QUERY', () => {
  const maria = useTestDatabase('mariadb', { seed: true })
  it(
    'the sleeping statement is gone at once, the loop throws the abort reason, the pool is idle',
    { timeout: 20_000 },
    async () => {
      const mds = await openDataSource('mariadb', maria.url, { poolSize: 2 })
      try {
        const controller = new AbortController()
        // SLEEP() per row makes every chunk read take seconds
        const query = mds.getRepository(Book).createQueryBuilder('b').where('SLEEP(0.5) = 0').orderBy('b.id')
        setTimeout(() => controller.abort(new Error('stop')), 300)
        await expect(async () => {
          for await (const _ of aiterator(query, {
            batchYieldSize: 10,
            chunkSize: 10,
            prefetch: 0,
            strategy: 'keyset',
            signal: controller.signal,
          })) {
            // the first chunk alone takes 5 s
          }
        }).rejects.toThrow('stop')
        const processlist = async () =>
          (await mds.query(
            "SELECT id FROM information_schema.PROCESSLIST WHERE INFO LIKE '%SLEEP(0.5)%' AND INFO NOT LIKE '%PROCESSLIST%'",
          )) as unknown[]
        for (let i = 0; i < 50 && (await processlist()).length > 0; i++)
          await new Promise((resolve) => setTimeout(resolve, 20))
        expect(await processlist()).toEqual([])
      } finally {
        await mds.destroy()
      }
    },
  )
})

describe('keyset with chunkTimeoutMs on a black-holed connection', () => {
  it(
    'the stuck SELECT is cancelled, its connection closed, the chunk read again once the network heals: every row once',
    { timeout: 30_000 },
    async () => {
      await using proxy = await openTcpProxy(db.url)
      const { DataSource } = await import('typeorm')
      const { entities } = await import('./support/entities.js')
      const proxied = await new DataSource({
        type: 'postgres',
        url: proxy.url,
        entities,
        synchronize: false,
        poolSize: 1,
        logging: false,
      }).initialize()
      try {
        const ids: number[] = []
        let healed = false
        let stuckPid = 0
        for await (const batch of aiterator(proxied.getRepository(Book).createQueryBuilder('b').orderBy('b.id'), {
          batchYieldSize: 10,
          chunkSize: 10,
          prefetch: 0,
          strategy: 'keyset',
          chunkTimeoutMs: 300,
        })) {
          ids.push(...batch.map((b) => b.id))
          if (ids.length === 20 && !healed) {
            // the pool's only connection, about to be black-holed mid-SELECT
            stuckPid = ((await proxied.query('SELECT pg_backend_pid() AS pid')) as { pid: number }[])[0]!.pid
            proxy.blackhole()
            // heals while the run is between retries: before that, the chunk's SELECT and the reconnects hang
            setTimeout(() => {
              healed = true
              proxy.heal()
            }, 1500)
          }
        }
        expect(healed).toBe(true)
        expect(ids).toEqual(allIds())
        // the stuck statement's connection was closed (not waited for): its backend is gone
        const alive = () =>
          withConnection(
            db.url,
            async (c) => (await c.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [stuckPid])).length,
          )
        await expect.poll(alive, { timeout: 5_000 }).toBe(0)
      } finally {
        await proxied.destroy()
      }
    },
  )

  it('with retries: 0 the run ends with a ChunkTimeoutError naming the option', { timeout: 30_000 }, async () => {
    const { ChunkTimeoutError } = await import('@batchyield/batch-core')
    await using proxy = await openTcpProxy(db.url)
    const { DataSource } = await import('typeorm')
    const { entities } = await import('./support/entities.js')
    const proxied = await new DataSource({
      type: 'postgres',
      url: proxy.url,
      entities,
      synchronize: false,
      poolSize: 1,
      logging: false,
    }).initialize()
    try {
      let batches = 0
      const error = await (async () => {
        for await (const _ of aiterator(proxied.getRepository(Book).createQueryBuilder('b').orderBy('b.id'), {
          batchYieldSize: 10,
          chunkSize: 10,
          prefetch: 0,
          strategy: 'keyset',
          chunkTimeoutMs: 300,
          retries: 0,
        })) {
          if (++batches === 1) proxy.blackhole()
        }
      })().then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(ChunkTimeoutError)
      expect((error as Error).message).toMatch(
        /^The keyset chunk's SELECT did not finish within chunkTimeoutMs \(300 ms\) and was cancelled/,
      )
      expect(batches).toBe(1)
      proxy.heal()
    } finally {
      await proxied.destroy()
    }
  })
})
