import { failureOf } from '@batchyield/test-fixtures/conformance'
import 'reflect-metadata'
import { openQueryGate, openTcpProxy, restartUnderGate } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { DataSource } from 'typeorm'
import { afterEach, describe, expect, it } from 'vitest'
import { aiterator } from '../src/index.js'
import { collect } from './support/collect.js'
import { Book, entities } from './support/entities.js'
import { expectCleanPool, sessionsInTransaction } from './support/pool.js'

// A server restart or a failover, as the pool sees it, without restarting the shared server: a TCP
// proxy between the pool and the server resets every connection and refuses new ones for a while,
// then accepts them again (to the same server). A keyset run rides it out with the default retries;
// a cursor run fails with its documented error and leaves no session in a transaction.

const db = useTestDatabase('postgres', { seed: true })
let opened: DataSource[] = []
afterEach(async () => {
  for (const ds of opened) await ds.destroy().catch(() => {})
  opened = []
})

async function openPool(url: string): Promise<DataSource> {
  const ds = new DataSource({ type: 'postgres', url, entities, synchronize: false, poolSize: 2, logging: false })
  opened.push(ds)
  return ds.initialize()
}

const allIds = () => db.dataset.books.map((b) => b.id).sort((a, b) => a - b)

describe('keyset across a server restart (default retries)', () => {
  for (const when of ['between chunks', 'while a chunk is read'] as const) {
    for (const prefetch of [0, 1]) {
      it(
        `${when}, prefetch ${prefetch}: the reads are retried until the server is back; every row comes exactly once, in order`,
        { timeout: 60_000 },
        async () => {
          await using proxy = await openTcpProxy(db.url)
          await using gate = await openQueryGate(db.url)
          const ds = await openPool(proxy.url)
          const query = ds.getRepository(Book).createQueryBuilder('b').where(gate.condition).orderBy('b.id')
          const ids: number[] = []
          let restarted: Promise<void> | undefined
          let connectionsAtRestart = 0
          for await (const batch of aiterator(query, {
            batchYieldSize: 20,
            chunkSize: 20,
            prefetch,
            strategy: 'keyset',
          })) {
            ids.push(...batch.map((b) => b.id))
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
          await expectCleanPool(ds, db.url, db.name)
        },
      )
    }
  }
  it(
    'with retries: 0 the run ends with the documented keyset error, saying how to resume',
    { timeout: 30_000 },
    async () => {
      await using proxy = await openTcpProxy(db.url)
      const ds = await openPool(proxy.url)
      let batches = 0
      let restarted: Promise<void> | undefined
      const error = await failureOf(
        (async () => {
          for await (const _ of aiterator(ds.getRepository(Book).createQueryBuilder('b').orderBy('b.id'), {
            batchYieldSize: 20,
            chunkSize: 20,
            prefetch: 0,
            strategy: 'keyset',
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
      expect((error as Error).message).toMatch(
        /^The keyset strategy lost its database connection while reading a chunk \(.*ECONNREFUSED.*\)\. Nothing is held between chunks .*run again with 'after' set to the last onProgress cursor/,
      )
    },
  )
})

describe('cursor across a server restart', () => {
  for (const when of ['between chunks', 'while a chunk is read'] as const) {
    it(
      `${when}: the documented error (the cursor's connection was closed); no session left in a transaction; the next run reads every row`,
      { timeout: 60_000 },
      async () => {
        await using proxy = await openTcpProxy(db.url)
        await using gate = await openQueryGate(db.url)
        const ds = await openPool(proxy.url)
        const query = ds.getRepository(Book).createQueryBuilder('b').where(gate.condition).orderBy('b.id')
        let batches = 0
        let restarted: Promise<void> | undefined
        const error = await failureOf(
          (async () => {
            for await (const _ of aiterator(query, {
              batchYieldSize: 20,
              chunkSize: 20,
              prefetch: 0,
              strategy: 'cursor',
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
        expect((error as Error).message).toMatch(
          /^The cursor's database connection was closed during the run \((read ECONNRESET|Connection terminated unexpectedly)\); the cursor and its snapshot are gone/,
        )
        await expect.poll(() => sessionsInTransaction(db.url, db.name), { timeout: 5_000 }).toEqual([])
        await expectCleanPool(ds, db.url, db.name)
        expect(
          (
            await collect(
              aiterator(ds.getRepository(Book).createQueryBuilder('b').orderBy('b.id'), {
                batchYieldSize: 100,
                strategy: 'cursor',
              }),
            )
          )
            .flat()
            .map((b) => b.id),
        ).toEqual(allIds())
      },
    )
  }
})
