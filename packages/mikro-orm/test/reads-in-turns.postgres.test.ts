/**
 * The statements the adapter runs through pg's callback API (keyset chunk queries, the cursor's
 * FETCHes) have their rows parsed one socket read per turn of the event loop (batch-core's
 * `readsInTurns`), so a timer that falls due is not held up while a whole chunk is parsed.
 */
import { seedEvents } from '@batchyield/test-fixtures'
import { type AcquireEvents, probePoolReads } from '@batchyield/test-fixtures/read-probe'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import type { MikroORM } from '@mikro-orm/core'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import '../src/index.js'
import { entities, Event, EventSchema } from './entities.js'
import { collectBatches, describeEntity, openOrm, type TestOrm } from './support.js'

const db = useTestDatabase('postgres', { seed: true })
let t: TestOrm | undefined

beforeAll(async () => {
  await seedEvents(db.url, 5000)
})
afterEach(async () => {
  await t?.close()
  t = undefined
})

/** A read probe on every socket of MikroORM's pg pool. */
async function watchReads(orm: MikroORM) {
  return probePoolReads(
    await (orm.em.getConnection() as unknown as { getNativeClient(): Promise<AcquireEvents> }).getNativeClient(),
  )
}

describe('each socket read of a chunk is parsed in a turn of its own', () => {
  for (const strategy of ['keyset', 'cursor'] as const) {
    for (const prefetch of [0, 1]) {
      it(`${strategy}, prefetch ${prefetch}: chunks of 2,000 events (many socket reads each), a due timer waits for at most one more read, the same entities as em.find`, async () => {
        t = openOrm('postgres', db.url, { entities: [...entities, EventSchema] })
        const expected = await t.em.fork({ clear: true }).find(Event, {}, { orderBy: { id: 'asc' } })
        const reads = await watchReads(t.orm)
        let actual: Event[]
        try {
          actual = (
            await collectBatches(
              t.em.fork({ clear: true }).aiterator(Event, { strategy, prefetch, chunkSize: 2000, batchYieldSize: 500 }),
            )
          ).flat()
        } finally {
          reads.stop()
        }
        expect(actual.map(describeEntity)).toEqual(expected.map(describeEntity))
        // 5,000 events (over 1 MB) in reads of at most 64 KiB
        expect(reads.probe.reads).toBeGreaterThanOrEqual(10)
        // a read in the poll phase may be followed by the one resumed in that turn's check phase
        expect(Math.max(...reads.probe.readsBeforeTimer)).toBeLessThanOrEqual(1)
        await new Promise((resolve) => setImmediate(resolve))
        for (const socket of reads.sockets) {
          expect(socket.isPaused()).toBe(false)
          expect(socket.listenerCount('data')).toBe(1) // node-postgres's own
        }
      })
    }
  }
})
