import { type AcquireEvents, probePoolReads } from '@batchyield/test-fixtures/read-probe'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { type DataSource, QueryFailedError } from 'typeorm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { aiterator } from '../src/index.js'
import { collect, expectBatches } from './support/collect.js'
import { openDataSource } from './support/data-source.js'
import { Tag } from './support/entities.js'

// The adapter's own chunk reads (keyset SELECTs through pg's callback API, cursor reads through
// Execute) let node-postgres parse one socket read per turn of the event loop, so your timers and
// I/O do not wait while a whole chunk's response is parsed in one go.

const db = useTestDatabase('postgres', {
  seed: { counts: { authors: 1, books: 3, tags: 10_050, orderLines: 0, devices: 0, countries: 0 } },
})

/** A read probe on every socket of the data source's pool. */
function watchReads(ds: DataSource) {
  return probePoolReads((ds.driver as unknown as { master: AcquireEvents }).master)
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve))

describe('each socket read of a chunk is parsed in a turn of its own', () => {
  let ds: DataSource
  beforeAll(async () => {
    ds = await openDataSource('postgres', db.url, { poolSize: 1 })
  })
  afterAll(async () => {
    await ds?.destroy()
  })

  for (const strategy of ['keyset', 'cursor'] as const) {
    for (const prefetch of [0, 1]) {
      it(`${strategy}, prefetch ${prefetch}: chunks of 5,000 rows (many socket reads each), a due timer waits for at most one more read, the same entities as getMany()`, async () => {
        const query = () => ds.getRepository(Tag).createQueryBuilder('t').orderBy('t.id')
        const expected = await query().getMany()
        const reads = watchReads(ds)
        let batches: Tag[][]
        try {
          batches = await collect(aiterator(query(), { strategy, prefetch, chunkSize: 5000, batchYieldSize: 1000 }))
        } finally {
          reads.stop()
        }
        expectBatches(batches, expected, 1000, (t) => t.id)
        // 10,050 tags (~400 KB) in reads of at most 64 KiB: the run spanned several of them
        expect(reads.probe.reads).toBeGreaterThanOrEqual(5)
        // a read parsed in the poll phase may be followed by one more in that turn's check phase
        expect(Math.max(...reads.probe.readsBeforeTimer)).toBeLessThanOrEqual(1)
        await nextTurn()
        // nothing left behind on the connection: flowing, only node-postgres's own listener
        for (const socket of reads.sockets) {
          expect(socket.isPaused()).toBe(false)
          expect(socket.listenerCount('data')).toBe(1)
        }
        expect(await ds.query('SELECT count(*)::int AS n FROM tags')).toEqual([{ n: 10_050 }])
      })
    }
  }

  it('a chunk that fails part-way (division by zero at tag 6,000): QueryFailedError, the socket flowing again, the connection usable', async () => {
    const reads = watchReads(ds)
    const failing = ds.getRepository(Tag).createQueryBuilder('t').where('1 / (t.id - 6000) IS NOT NULL').orderBy('t.id')
    try {
      await expect(
        collect(aiterator(failing, { strategy: 'keyset', prefetch: 1, chunkSize: 8000, batchYieldSize: 1000 })),
      ).rejects.toBeInstanceOf(QueryFailedError)
    } finally {
      reads.stop()
    }
    await nextTurn()
    expect(reads.sockets.size).toBe(1)
    for (const socket of reads.sockets) {
      expect(socket.isPaused()).toBe(false)
      expect(socket.listenerCount('data')).toBe(1)
    }
    expect(await ds.query('SELECT count(*)::int AS n FROM tags')).toEqual([{ n: 10_050 }])
  })
})
