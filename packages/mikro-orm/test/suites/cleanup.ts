/**
 * Clean-up on every way out of the loop, on a pool of one connection: afterwards the single
 * connection is free again (a query runs at once) and no session of the test database is left
 * inside a transaction.
 */
import { type Dialect, listSessions } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { DriverException, raw } from '@mikro-orm/core'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import '../../src/index.js'
import { Book } from '../entities.js'
import { expectSettled, openOrm, type TestOrm, within } from '../support.js'

export function defineCleanupSuite(dialect: Dialect): void {
  const db = useTestDatabase(dialect, { seed: true })
  const strategies = dialect === 'postgres' ? (['keyset', 'cursor'] as const) : (['keyset'] as const)

  describe.each(strategies)("strategy '%s' on a pool of one connection", (strategy) => {
    let t: TestOrm
    beforeEach(() => {
      t = openOrm(dialect, db.url, { pool: { min: 0, max: 1 } })
    })
    afterEach(async () => {
      expect(await within(5_000, t.em.fork().count(Book), 'a query after the loop')).toBe(db.dataset.books.length)
      expect((await listSessions(db.url)).filter((session) => session.inTransaction)).toEqual([])
      if (dialect === 'postgres') await expectSettled(t.orm, db.url, db.name)
      await t.close()
    })

    const options = { strategy, chunkSize: 30, batchYieldSize: 10, populate: ['author'] } as const

    it('break after the first batch releases everything', async () => {
      for await (const books of t.em.aiterator(Book, options)) {
        expect(books).toHaveLength(10)
        break
      }
    })

    it('a throw in the loop body propagates and releases everything', async () => {
      await expect(
        (async () => {
          for await (const _ of t.em.aiterator(Book, options)) throw new Error('consumer failed')
        })(),
      ).rejects.toThrow('consumer failed')
    })

    it('return() on a started iterator releases everything', async () => {
      const iterator = t.em.aiterator(Book, options)
      expect((await iterator.next()).done).toBe(false)
      expect(await iterator.return()).toEqual({ done: true, value: undefined })
    })

    it('an iterator that is never started runs no query', async () => {
      const before = t.queries.length
      t.em.aiterator(Book, options)
      expect(t.queries.length).toBe(before)
    })

    it('abort through signal ends the loop with the reason and releases everything', async () => {
      const controller = new AbortController()
      let batches = 0
      await expect(
        (async () => {
          for await (const _ of t.em.aiterator(Book, { ...options, signal: controller.signal })) {
            if (++batches === 2) controller.abort(new Error('stop requested'))
          }
        })(),
      ).rejects.toThrow('stop requested')
      expect(batches).toBe(2)
    })

    it('a database error rejects the loop with the driver error and releases everything', async () => {
      // a condition only the server rejects: a column that does not exist (raw, so MikroORM passes it on)
      const failing = t.em.aiterator(Book, { ...options, where: { [raw('no_such_column')]: 1 } })
      await expect(drain(failing)).rejects.toBeInstanceOf(DriverException)
    })
  })
}

async function drain(iterator: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of iterator);
}
