/**
 * A server restart or a failover, as the pool sees it, without restarting the shared server: a TCP
 * proxy between the pool and the server resets every connection and refuses new ones for a while,
 * then accepts them again (to the same server). A keyset run rides it out with the default retries;
 * a cursor run fails with its documented ConnectionException and leaves no session in a transaction.
 */
import { failureOf } from '@batchyield/test-fixtures/conformance'
import { openQueryGate, openTcpProxy, restartUnderGate } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { ConnectionException, raw } from '@mikro-orm/core'
import { afterEach, describe, expect, it } from 'vitest'
import '../src/index.js'
import { Book } from './entities.js'
import { expectSettled, idleInTransaction, openOrm, pkOf, type TestOrm } from './support.js'

const db = useTestDatabase('postgres', { seed: true })
let t: TestOrm | undefined
afterEach(async () => {
  await t?.close()
  t = undefined
})

const allIds = () => db.dataset.books.map((b) => b.id).sort((a, b) => a - b)
const idsOf = (batch: object[]) => batch.map((b) => (b as { id: number }).id)

describe('keyset across a server restart (default retries)', () => {
  for (const when of ['between chunks', 'while a chunk is read'] as const) {
    for (const prefetch of [0, 1]) {
      it(
        `${when}, prefetch ${prefetch}: the reads are retried until the server is back; every row comes exactly once, in order`,
        { timeout: 60_000 },
        async () => {
          await using proxy = await openTcpProxy(db.url)
          await using gate = await openQueryGate(db.url)
          t = openOrm('postgres', proxy.url)
          const where = { [raw(gate.condition)]: true }
          const ids: number[] = []
          let restarted: Promise<void> | undefined
          let connectionsAtRestart = 0
          for await (const batch of t.em.aiterator(Book, {
            where,
            strategy: 'keyset',
            chunkSize: 20,
            batchYieldSize: 20,
            prefetch,
          })) {
            ids.push(...idsOf(batch))
            if (ids.length === 40) {
              connectionsAtRestart = proxy.connections
              if (when === 'between chunks') {
                restarted = proxy.restart()
                await new Promise((resolve) => setTimeout(resolve, 100)) // the pool's idle connections read their reset
              } else {
                // not awaited: with prefetch 0 the next read starts once this body returns
                await gate.shut()
                restarted = restartUnderGate(proxy, gate)
              }
            }
          }
          await restarted
          expect(ids).toEqual(allIds())
          expect(proxy.connections).toBeGreaterThan(connectionsAtRestart) // it read on through new connections
          await expectSettled(t.orm, db.url, db.name)
        },
      )
    }
  }

  it(
    'with retries: 0 the run ends with the documented ConnectionException, saying how to resume',
    { timeout: 30_000 },
    async () => {
      await using proxy = await openTcpProxy(db.url)
      t = openOrm('postgres', proxy.url)
      let batches = 0
      let restarted: Promise<void> | undefined
      const error = await failureOf(
        (async () => {
          for await (const _ of t!.em.aiterator(Book, {
            strategy: 'keyset',
            chunkSize: 20,
            batchYieldSize: 20,
            prefetch: 0,
            retries: 0,
          })) {
            if (++batches !== 2) continue
            restarted = proxy.restart()
            await new Promise((resolve) => setTimeout(resolve, 100))
          }
        })(),
      )
      await restarted
      expect(batches).toBe(2)
      expect(error).toBeInstanceOf(ConnectionException)
      expect((error as Error).message).toMatch(
        /^The keyset strategy lost its database connection while reading the chunk after 40 rows \(the session was terminated or the connection dropped\): .*ECONNREFUSED.*run again with after set to the last onProgress cursor/,
      )
    },
  )
})

describe('cursor across a server restart', () => {
  for (const when of ['between chunks', 'while a chunk is read'] as const) {
    it(
      `${when}: the documented ConnectionException; no session left in a transaction; the next run reads every row`,
      { timeout: 60_000 },
      async () => {
        await using proxy = await openTcpProxy(db.url)
        await using gate = await openQueryGate(db.url)
        t = openOrm('postgres', proxy.url)
        const where = { [raw(gate.condition)]: true }
        let batches = 0
        let restarted: Promise<void> | undefined
        const error = await failureOf(
          (async () => {
            for await (const _ of t!.em.aiterator(Book, {
              where,
              strategy: 'cursor',
              chunkSize: 20,
              batchYieldSize: 20,
              prefetch: 0,
            })) {
              if (++batches !== 2) continue
              if (when === 'between chunks') await (restarted = proxy.restart())
              else {
                await gate.shut()
                restarted = restartUnderGate(proxy, gate)
              }
            }
          })(),
        )
        await restarted
        expect(batches).toBe(2)
        expect(error).toBeInstanceOf(ConnectionException)
        expect((error as Error).message).toMatch(
          /^The cursor strategy lost its database connection after reading 40 rows \(the session was terminated or the connection dropped\): (fetch forward \d+ from "\w+" - )?(read ECONNRESET|Connection terminated unexpectedly|Client has encountered a connection error and is not queryable)\. A server-side cursor cannot continue/,
        )
        await expect.poll(() => idleInTransaction(db.url, db.name), { timeout: 5_000 }).toBe(0)
        await expectSettled(t.orm, db.url, db.name)
        const ids: string[] = []
        for await (const books of t.em.aiterator(Book, { strategy: 'cursor', chunkSize: 50, batchYieldSize: 50 }))
          ids.push(...books.map(pkOf))
        expect(ids).toHaveLength(db.dataset.books.length)
      },
    )
  }
})
