import { DriverException } from '@mikro-orm/core'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import '../src/index.js'
import { Book } from './entities.js'
import { idleInTransaction, openOrm, type TestOrm, within } from './support.js'

const db = useTestDatabase('postgres', { seed: true })

describe.each(['keyset', 'cursor'] as const)("clean-up with strategy '%s' on a pool of one connection", (strategy) => {
  let t: TestOrm
  beforeEach(() => {
    t = openOrm('postgres', db.url, { pool: { min: 0, max: 1 } })
  })
  afterEach(async () => {
    // the single connection is free again and nothing is left open on the server
    expect(await within(5_000, t.em.fork().count(Book), 'a query after the loop')).toBe(db.dataset.books.length)
    expect(await idleInTransaction(db.url, db.name)).toBe(0)
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

  it('an iterator that is never started opens nothing', async () => {
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
    // numeric comparison with a non-numeric literal fails on the server, not in MikroORM
    const failing = t.em.aiterator(Book, { ...options, where: { price: { $gt: 'not a number' } } })
    await expect(collectAll(failing)).rejects.toBeInstanceOf(DriverException)
  })
})

async function collectAll(iterator: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of iterator);
}
