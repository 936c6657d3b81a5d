/**
 * The consumer leaves the loop (break, throw, return(), abort through `signal`) while the next
 * chunk is being read ahead (`prefetch: 1`), on a pool of one connection. Past the first chunk,
 * every row waits at a shut gate (test-fixtures' query gate), and the loop body waits until the
 * read-ahead query has been sent before it leaves, so the exit always happens with a query in
 * flight (or, for the kill, with the session ended in the middle of it). The gate stays shut: the
 * statement in flight (keyset's chunk query, the cursor's FETCH) is cancelled on the server, or
 * nothing would ever settle. On the fast and on the public paths (`BATCHYIELD_MIKRO_PATHS=public`).
 *
 * Afterwards: no unhandled rejection, the pool's connections are all back and idle, no session
 * is left `idle in transaction`, nothing more is queried, and the source was closed once (for
 * `cursor`: its own transaction ended once, by a `rollback` after the cancel).
 */
import { openQueryGate } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { raw } from '@mikro-orm/core'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import '../src/index.js'
import { pathsOf } from '../src/internals.js'
import { Book } from './entities.js'
import { usePaths } from './paths.js'
import { expectSettled, openOrm, type TestOrm, trackUnhandledRejections, within } from './support.js'

const db = useTestDatabase('postgres', { seed: true })

// 10 ms per row evaluated, among the first 40 books: each chunk query runs for 100-400 ms, long
// enough to still be in flight when the loop body leaves
// a function: MikroORM 6 reads a raw() key for one run only (its keys are strings used up by the query)
const slow = () => ({ id: { $lte: 40 }, [raw('pg_sleep(0.01) is not null')]: true })
const CHUNK = 10

type Exit = 'break' | 'throw' | 'return()' | 'abort' | 'break, then the in-flight query fails (session killed)'
const exits: readonly Exit[] = [
  'break',
  'throw',
  'return()',
  'abort',
  'break, then the in-flight query fails (session killed)',
]

describe.each([
  ['keyset', 'fast'],
  ['cursor', 'fast'],
  ['keyset', 'public'],
  ['cursor', 'public'],
] as const)(
  "strategy '%s', %s paths: the consumer leaves while a prefetch is in flight (pool of one)",
  (strategy, paths) => {
    let t: TestOrm
    let unhandled: ReturnType<typeof trackUnhandledRejections>
    usePaths(paths)
    beforeEach(() => {
      t = openOrm('postgres', db.url, { pool: { min: 0, max: 1 } })
      unhandled = trackUnhandledRejections()
    })
    afterEach(async () => {
      await t.close()
    })

    /** Statements that read a chunk: the seek query (keyset) or the FETCH (cursor). */
    const chunkReads = (): number =>
      t.queries.filter((sql) =>
        strategy === 'cursor' ? /^fetch forward/i.test(sql) : sql.includes('pg_sleep') && /^select/i.test(sql),
      ).length

    async function waitUntil(condition: () => boolean, what: string): Promise<void> {
      await within(
        5_000,
        (async () => {
          while (!condition()) await new Promise((resolve) => setTimeout(resolve, 2))
        })(),
        what,
      )
    }

    for (const exit of exits) {
      it(`${exit}: no unhandled rejection, no leaked connection, no open transaction, the source closed once, nothing queried afterwards`, async () => {
        const controller = new AbortController()
        await using gate = await openQueryGate(db.url)
        const firstChunkEnd = db.dataset.books.map((b) => b.id).sort((a, b) => a - b)[CHUNK - 1]!
        const where = { ...slow(), [raw(`(id <= ${firstChunkEnd} or ${gate.condition})`)]: true }
        await gate.shut()
        const iterator = t.em.aiterator(Book, {
          where,
          strategy,
          chunkSize: CHUNK,
          batchYieldSize: CHUNK,
          prefetch: 1,
          signal: controller.signal,
        })
        let batches = 0
        let readsAtExit = 0
        const run = async (): Promise<void> => {
          for await (const books of iterator) {
            expect(books).toHaveLength(CHUNK)
            batches++
            // the read-ahead of the second chunk has been sent (and sleeps in the database)
            await waitUntil(() => chunkReads() >= 2, 'the read-ahead query')
            readsAtExit = chunkReads()
            if (exit === 'throw') throw new Error('consumer failed')
            if (exit === 'abort') controller.abort(new Error('stop requested'))
            if (exit === 'return()') {
              await iterator.return()
              return
            }
            if (exit.startsWith('break, then')) expect(await gate.killWaiting()).toHaveLength(1)
            readsAtExit = chunkReads()
            if (exit !== 'abort') break
          }
        }
        const outcome = await within(10_000, run(), `leaving a ${strategy} loop (${exit})`).then(
          () => undefined,
          (e: unknown) => e,
        )
        // the gate is still shut: only a cancel (or the kill) ends the statement that waited there
        await expect.poll(() => gate.waiting(0), { timeout: 5_000 }).toEqual([])
        await gate.open()
        if (exit === 'throw') expect((outcome as Error).message).toBe('consumer failed')
        else if (exit === 'abort') expect((outcome as Error).message).toBe('stop requested')
        // after a kill, the cursor's connection is destroyed unasked: a read nobody waits for is no news
        else expect(outcome).toBeUndefined()
        expect(batches).toBe(1)
        // the fast paths are 7.2's: older lines take the public ones (README, Supported versions)
        expect(pathsOf(t.em).find).toBe(process.env.MIKRO_ORM_LINE === '7.2' ? paths : 'public')

        await expectSettled(t.orm, db.url, db.name)
        const queriesAfterExit = t.queries.length
        expect(await unhandled.stop()).toEqual([])
        expect(t.queries.length).toBe(queriesAfterExit) // nothing more is read once everything settled
        // the first chunk and the one read ahead (the cursor's plain read sends it while creating the
        // first chunk's entities, and the engine's prefetch takes it), and after a kill keyset's retry of
        // it when it went out before the loop left; none once the loop has left
        expect(chunkReads()).toBe(readsAtExit)
        if (!exit.startsWith('break, then') || strategy === 'cursor') expect(readsAtExit).toBe(2)
        if (strategy === 'cursor') {
          // close() ran once: the FETCH in flight was cancelled, so its own transaction ended with one
          // rollback (after a kill, with nothing: the connection is gone and was destroyed)
          const ends = t.queries.filter((sql) => /^(commit|rollback)/i.test(sql))
          expect(ends).toEqual(exit.startsWith('break, then') ? [] : ['rollback'])
        }
        // the single connection serves the next query (one retry: after a kill, pg may hand out the dead client once)
        const count = () => t.em.fork().count(Book)
        expect(await within(5_000, count().catch(count), 'a query after the exit')).toBe(db.dataset.books.length)
        await expectSettled(t.orm, db.url, db.name)
      })
    }
  },
)
