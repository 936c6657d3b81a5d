/**
 * A keyset chunk read is idempotent: a read that lost its connection (or outlasted chunkTimeoutMs)
 * is read again with back-off, up to `retries`, so a run rides out killed sessions; after an abort
 * nothing new is sent.
 */
import { failureOf } from '@batchyield/test-fixtures/conformance'
import { ChunkTimeoutError } from '@batchyield/batch-core'
import { listSessions, openQueryGate, openTcpProxy } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { raw } from '@mikro-orm/core'
import type { SqlEntityManager } from '@mikro-orm/sql'
import { afterEach, describe, expect, it } from 'vitest'
import '../src/index.js'
import { pathsOf } from '../src/internals.js'
import { Book } from './entities.js'
import { usePaths } from './paths.js'
import { openOrm, type TestOrm } from './support.js'

const db = useTestDatabase('postgres', { seed: true })
let t: TestOrm | undefined
afterEach(async () => {
  await t?.close()
  t = undefined
})

const allIds = () => db.dataset.books.map((b) => b.id).sort((a, b) => a - b)
const idsOf = (batch: object[]) => batch.map((b) => (b as { id: number }).id)
const chunkSelects = () =>
  (t?.queries ?? []).filter((sql) => sql.startsWith('select') && sql.includes('"books"') && sql.includes('limit'))

describe('keyset rides out a lost connection', () => {
  for (const prefetch of [0, 1]) {
    it(
      `prefetch ${prefetch}: killed while a chunk's query runs, five runs out of five: the read is retried and every row comes exactly once`,
      { timeout: 60_000 },
      async () => {
        t = openOrm('postgres', db.url)
        let kills = 0
        for (let trial = 0; trial < 5; trial++) {
          await using gate = await openQueryGate(db.url)
          const where = { [raw(gate.condition)]: true }
          const ids: number[] = []
          let killed: Promise<number[]> | undefined
          for await (const batch of t.em.aiterator(Book, {
            where,
            strategy: 'keyset',
            chunkSize: 20,
            batchYieldSize: 20,
            prefetch,
          })) {
            ids.push(...idsOf(batch))
            // not awaited: with prefetch 0 the next read starts only once this body returns
            if (ids.length === 20 * (1 + trial)) killed = gate.killWaiting(5000).finally(() => gate.open())
          }
          // a read that got past the gate before it shut is not killed (under load, now and then)
          kills += (await killed)?.length ?? 0
          expect(ids, `trial ${trial}`).toEqual(allIds())
        }
        expect(kills).toBeGreaterThanOrEqual(3)
      },
    )
  }

  it('with retries: 0 the documented ConnectionException, saying how to resume', { timeout: 30_000 }, async () => {
    t = openOrm('postgres', db.url)
    await using gate = await openQueryGate(db.url)
    const where = { [raw(gate.condition)]: true }
    let killed: Promise<number[]> | undefined
    const error = await (async () => {
      for await (const _ of t!.em.aiterator(Book, {
        where,
        strategy: 'keyset',
        chunkSize: 20,
        batchYieldSize: 20,
        prefetch: 0,
        retries: 0,
      })) {
        if (killed !== undefined) continue
        await gate.shut() // before the next read goes out (prefetch 0: once this body returns)
        killed = gate.killWaiting(5000).finally(() => gate.open())
      }
    })().then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(await killed).toHaveLength(1)
    expect((error as Error).name).toBe('ConnectionException')
    expect((error as Error).message).toMatch(
      /^The keyset strategy lost its database connection while reading the chunk after \d+ rows .*run again with after set to the last onProgress cursor/,
    )
  })
})

describe('after an abort nothing new is sent', () => {
  for (const prefetch of [0, 1, 2]) {
    it(`prefetch ${prefetch}: no chunk query goes out once the signal has aborted`, async () => {
      t = openOrm('postgres', db.url)
      const controller = new AbortController()
      let sentAtAbort = -1
      await expect(async () => {
        for await (const _ of t!.em.aiterator(Book, {
          strategy: 'keyset',
          chunkSize: 5,
          batchYieldSize: 5,
          prefetch,
          signal: controller.signal,
        })) {
          if (chunkSelects().length >= 3 && sentAtAbort < 0) {
            sentAtAbort = chunkSelects().length
            controller.abort(new Error('stop'))
          }
        }
      }).rejects.toThrow('stop')
      await new Promise((resolve) => setTimeout(resolve, 300))
      expect(chunkSelects().length).toBe(sentAtAbort)
    })
  }
})

describe('chunkTimeoutMs', () => {
  it(
    'a query stuck past it is cancelled and read again; once it can go on, every row comes once',
    { timeout: 30_000 },
    async () => {
      t = openOrm('postgres', db.url)
      await using gate = await openQueryGate(db.url)
      const where = { [raw(gate.condition)]: true }
      const ids: number[] = []
      let sentWhileShut: Promise<number> | undefined
      for await (const batch of t.em.aiterator(Book, {
        where,
        strategy: 'keyset',
        chunkSize: 20,
        batchYieldSize: 20,
        prefetch: 0,
        chunkTimeoutMs: 300,
      })) {
        ids.push(...idsOf(batch))
        if (ids.length === 20) {
          await gate.shut()
          const before = chunkSelects().length
          // the next read waits at the shut gate; after 300 ms it is cancelled and sent again: then open
          sentWhileShut = (async () => {
            const deadline = Date.now() + 5000
            while (chunkSelects().length < before + 2 && Date.now() < deadline)
              await new Promise((resolve) => setTimeout(resolve, 20))
            await gate.open()
            return chunkSelects().length - before
          })()
        }
      }
      expect(ids).toEqual(allIds())
      expect(await sentWhileShut).toBeGreaterThanOrEqual(2) // the stuck read and its retry
    },
  )

  it(
    'with retries: 0 a stuck query ends the run with a ChunkTimeoutError naming the option',
    { timeout: 30_000 },
    async () => {
      t = openOrm('postgres', db.url)
      await using gate = await openQueryGate(db.url)
      const where = { [raw(gate.condition)]: true }
      let batches = 0
      const error = await (async () => {
        for await (const _ of t!.em.aiterator(Book, {
          where,
          strategy: 'keyset',
          chunkSize: 20,
          batchYieldSize: 20,
          prefetch: 0,
          chunkTimeoutMs: 300,
          retries: 0,
        })) {
          if (++batches === 1) await gate.shut()
        }
      })().then(
        () => undefined,
        (e: unknown) => e,
      )
      await gate.open()
      expect(error).toBeInstanceOf(ChunkTimeoutError)
      expect((error as Error).message).toMatch(
        /^The keyset chunk's query did not finish within chunkTimeoutMs \(300 ms\) and was cancelled/,
      )
      expect(batches).toBe(1)
    },
  )
})

describe.each(['fast', 'public'] as const)('chunkTimeoutMs on a black-holed connection, %s paths', (paths) => {
  usePaths(paths)

  it(
    'the stuck query is cancelled, its connection closed, the chunk read again once the network heals: every row once',
    { timeout: 30_000 },
    async () => {
      await using proxy = await openTcpProxy(db.url)
      t = openOrm('postgres', proxy.url, { pool: { min: 0, max: 1 } })
      const ids: number[] = []
      let healed = false
      let stuckPid = 0
      for await (const batch of t.em.aiterator(Book, {
        strategy: 'keyset',
        chunkSize: 10,
        batchYieldSize: 10,
        prefetch: 0,
        chunkTimeoutMs: 300,
      })) {
        ids.push(...idsOf(batch))
        if (ids.length === 20 && !healed) {
          // the pool's only connection, about to be black-holed mid-query
          stuckPid = (
            await (t.em.fork() as SqlEntityManager).execute<{ pid: number }[]>('select pg_backend_pid() as pid')
          )[0]!.pid
          proxy.blackhole()
          // heals while the run is between retries: before that, the chunk's query and the reconnects hang
          setTimeout(() => {
            healed = true
            proxy.heal()
          }, 1500)
        }
      }
      expect(pathsOf(t.em).find).toBe(paths)
      expect(healed).toBe(true)
      expect(ids).toEqual(allIds())
      // the stuck query's connection was closed (not waited for): its backend is gone
      const sessionIds = async () => (await listSessions(db.url)).map((session) => session.id)
      await expect.poll(sessionIds, { timeout: 5_000 }).not.toContain(stuckPid)
    },
  )

  it(
    'with retries: 0 the run ends (it does not wait for the network) with a ChunkTimeoutError naming the option',
    { timeout: 30_000 },
    async () => {
      await using proxy = await openTcpProxy(db.url)
      t = openOrm('postgres', proxy.url, { pool: { min: 0, max: 1 } })
      let batches = 0
      const options = {
        strategy: 'keyset',
        chunkSize: 10,
        batchYieldSize: 10,
        prefetch: 0,
        chunkTimeoutMs: 300,
        retries: 0,
      } as const
      const error = await failureOf(
        (async () => {
          for await (const _ of t!.em.aiterator(Book, options)) if (++batches === 1) proxy.blackhole()
        })(),
      )
      proxy.heal()
      expect(error).toBeInstanceOf(ChunkTimeoutError)
      expect((error as Error).message).toMatch(
        /^The keyset chunk's query did not finish within chunkTimeoutMs \(300 ms\) and was cancelled/,
      )
      expect(batches).toBe(1)
    },
  )
})
