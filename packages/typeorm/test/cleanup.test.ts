import { type Dialect, withConnection } from '@batchyield/test-fixtures'
import { defineCleanupSuite } from '@batchyield/test-fixtures/conformance'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import type { DataSource } from 'typeorm'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { CursorSource } from '../src/cursor-source.js'
import { aiterator, type Strategy } from '../src/index.js'
import { KeysetSource } from '../src/keyset-source.js'
import { typeormFixtureDriver } from './support/conformance-driver.js'
import { openDataSource } from './support/data-source.js'
import { Book } from './support/entities.js'
import { expectCleanPool } from './support/pool.js'
import { UnhandledRejections } from './support/unhandled.js'
import { leaveWhilePrefetching } from './support/early-exit.js'

// On every way out of the loop the cursor is closed, the transaction ended and the connection
// returned. A pool of ONE connection makes any leak visible: the next query would never run.
// The ways out both adapters share (break, throw, return(), abort, database errors, completion)
// are the conformance scenario (@batchyield/test-fixtures/conformance), on both databases; here
// are TypeORM's own: its sources' close() while a read-ahead is in flight or failing, and the
// caller's query runner and transaction.

for (const dialect of ['postgres', 'mariadb'] as Dialect[]) {
  describe(`clean-up on ${dialect} (the conformance scenario)`, () => {
    defineCleanupSuite(typeormFixtureDriver(dialect))
  })
}

const db = useTestDatabase('postgres', { seed: true })
let ds: DataSource
beforeAll(async () => {
  ds = await openDataSource('postgres', db.url, { poolSize: 1 })
})
afterAll(async () => {
  await ds?.destroy()
})

const sourceClass = { keyset: KeysetSource, cursor: CursorSource } as const
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const killBackends = () =>
  withConnection(db.url, (c) =>
    c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [
      db.name,
    ]),
  )

describe.each<'keyset' | 'cursor'>(['keyset', 'cursor'])(
  '%s: leaving while the read-ahead is in flight',
  (strategy) => {
    it.each(['break', 'throw', 'abort'] as const)(
      '%s while a prefetched chunk is still being fetched: no unhandled rejection, close() ran once, nothing leaked',
      async (exit) => {
        // ~10 ms per row: the read-ahead FETCH/SELECT of the next chunk is in flight when the loop ends.
        const slow = ds
          .getRepository(Book)
          .createQueryBuilder('b')
          .where('pg_sleep(0.01) IS NOT NULL')
          .orderBy('b.id', 'ASC')
        await leaveWhilePrefetching(slow, {
          exit,
          strategy,
          source: sourceClass[strategy],
          expectCleanPool: () => expectCleanPool(ds, db.url, db.name),
        })
      },
    )

    it.each(['break', 'throw'] as const)(
      '%s while the prefetch is failing (its backend is killed): no unhandled rejection, close() ran once, nothing leaked',
      async (exit) => {
        const slow = ds
          .getRepository(Book)
          .createQueryBuilder('b')
          .where('pg_sleep(0.01) IS NOT NULL')
          .orderBy('b.id', 'ASC')
        const failure = new Error('consumer failed')
        const unhandled = new UnhandledRejections()
        const close = vi.spyOn(sourceClass[strategy].prototype as { close(): unknown }, 'close')
        try {
          const run = async () => {
            for await (const batch of aiterator(slow, { batchYieldSize: 5, chunkSize: 5, prefetch: 1, strategy })) {
              expect(batch).toHaveLength(5)
              await sleep(10) // the prefetch is running on the pool's only connection: kill it
              await killBackends()
              if (exit === 'break') break
              throw failure
            }
          }
          // The consumer left first, so its own outcome wins; the prefetch's connection error is nobody's to see.
          if (exit === 'break') await run()
          else await expect(run()).rejects.toBe(failure)
          await expectCleanPool(ds, db.url, db.name)
          await vi.waitFor(() => expect(close).toHaveBeenCalled())
          expect(await unhandled.stop()).toEqual([])
          expect(close).toHaveBeenCalledTimes(1)
        } finally {
          close.mockRestore()
          await unhandled.stop()
        }
      },
    )
  },
)

describe("the caller's query runner and transaction", () => {
  it.each<Strategy>(['keyset', 'cursor'])(
    '%s reads uncommitted rows of that transaction and leaves it open',
    async (strategy) => {
      const runner = ds.createQueryRunner()
      await runner.connect()
      try {
        await runner.startTransaction()
        await runner.query("UPDATE books SET title = 'in transaction' WHERE id <= 5")
        const qb = ds
          .getRepository(Book)
          .createQueryBuilder('b', runner)
          .where('b.id <= :n', { n: 20 })
          .orderBy('b.id', 'ASC')
        const titles: string[] = []
        for await (const batch of aiterator(qb, { batchYieldSize: 3, chunkSize: 4, strategy }))
          titles.push(...batch.map((b) => b.title))
        expect(titles.slice(0, 5)).toEqual(Array(5).fill('in transaction'))
        expect(titles).toHaveLength(20)
        expect(runner.isTransactionActive).toBe(true)
        expect(await runner.query('SELECT count(*)::int AS n FROM pg_cursors')).toEqual([{ n: 0 }])
        await runner.rollbackTransaction()
      } finally {
        await runner.release()
      }
      const [row] = await ds.query('SELECT title FROM books WHERE id = 1')
      expect(row.title).not.toBe('in transaction')
      await expectCleanPool(ds, db.url, db.name)
    },
  )

  it('cursor on a query runner outside a transaction opens and ends its own on that runner', async () => {
    const runner = ds.createQueryRunner()
    try {
      const qb = ds.getRepository(Book).createQueryBuilder('b', runner).orderBy('b.id', 'ASC')
      let rows = 0
      for await (const batch of aiterator(qb, { batchYieldSize: 50, chunkSize: 60, strategy: 'cursor' })) {
        rows += batch.length
        if (rows === 100) break
      }
      expect(rows).toBe(100)
      expect(runner.isTransactionActive).toBe(false)
      expect(runner.isReleased).toBe(false)
    } finally {
      await runner.release()
    }
    await expectCleanPool(ds, db.url, db.name)
  })
})
