/**
 * More concurrent iterators than pool connections. `cursor` holds a connection for its whole run,
 * so later runs wait for one; `keyset` holds one only for the length of a chunk query. Nothing
 * deadlocks, and afterwards every pool connection is back and idle.
 */
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { DriverException } from '@mikro-orm/core'
import { afterEach, describe, expect, it } from 'vitest'
import '../src/index.js'
import { Book } from './entities.js'
import { expectSettled, openOrm, pkOf, poolState, type TestOrm, within } from './support.js'

const db = useTestDatabase('postgres', { seed: true })

let t: TestOrm | undefined
afterEach(async () => {
  await t?.close()
  t = undefined
})

/** Runs `strategy` to the end, one batch at a time; returns the primary keys read, in order. */
async function readAll(orm: TestOrm, strategy: 'keyset' | 'cursor', chunkSize: number): Promise<string[]> {
  const ids: string[] = []
  for await (const books of orm.em.aiterator(Book, { strategy, chunkSize, batchYieldSize: chunkSize })) {
    ids.push(...books.map(pkOf))
    // hand control to the other runs between batches, so they really are consumed concurrently
    await new Promise((resolve) => setImmediate(resolve))
  }
  return ids
}

describe('pool exhaustion', () => {
  it('8 cursor runs consumed concurrently on a pool of two: the later ones wait for a connection, none deadlocks, each reads every row once', async () => {
    t = openOrm('postgres', db.url, { pool: { min: 0, max: 2 } })
    const orm = t
    const expected = (await orm.em.fork().find(Book, {}, { orderBy: { id: 'asc' } })).map(pkOf)
    let peak = 0
    const sampler = setInterval(() => void poolState(orm.orm).then((p) => (peak = Math.max(peak, p.total))), 5)
    try {
      const runs = await within(
        60_000,
        Promise.all(Array.from({ length: 8 }, () => readAll(orm, 'cursor', 40))),
        '8 cursor runs on a pool of two',
      )
      for (const ids of runs) expect(ids).toEqual(expected)
    } finally {
      clearInterval(sampler)
    }
    expect(peak).toBeLessThanOrEqual(2)
    await expectSettled(orm.orm, db.url, db.name)
  })

  it('keyset: 50 runs consumed concurrently on a pool of five all finish, each reading every row once', async () => {
    t = openOrm('postgres', db.url, { pool: { min: 0, max: 5 } })
    const orm = t
    const expected = (await orm.em.fork().find(Book, {}, { orderBy: { id: 'asc' } })).map(pkOf)
    const runs = await within(
      60_000,
      Promise.all(Array.from({ length: 50 }, () => readAll(orm, 'keyset', 100))),
      '50 keyset runs on a pool of five',
    )
    expect(runs).toHaveLength(50)
    for (const ids of runs) expect(ids).toEqual(expected)
    expect((await poolState(orm.orm)).total).toBeLessThanOrEqual(5)
    await expectSettled(orm.orm, db.url, db.name)
  })

  it('a cursor run holding the only connection while the loop body queries through a fork: with an acquire timeout (driverOptions.connectionTimeoutMillis) the body fails with a clear error instead of waiting forever, and the pool recovers', async () => {
    t = openOrm('postgres', db.url, { pool: { min: 0, max: 1 }, driverOptions: { connectionTimeoutMillis: 500 } })
    const orm = t
    let batches = 0
    const run = (async () => {
      for await (const books of orm.em.aiterator(Book, { strategy: 'cursor', chunkSize: 50, batchYieldSize: 50 })) {
        batches++
        // needs a second connection: the cursor holds the only one
        await orm.em.fork().count(Book, { id: { $in: books.map((b) => b.id) } })
      }
    })()
    const error = await within(10_000, run, 'a cursor run whose loop body waits for a connection').then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(DriverException)
    expect((error as Error).message).toBe('timeout exceeded when trying to connect')
    expect(batches).toBe(1)
    await expectSettled(orm.orm, db.url, db.name)
    // the cursor released its connection when the loop threw: the pool of one works again
    expect(await within(5_000, orm.em.fork().count(Book), 'a query after the failure')).toBe(db.dataset.books.length)
  })

  it('the same loop body with keyset on a pool of one runs to the end (keyset holds no connection between chunks)', async () => {
    t = openOrm('postgres', db.url, { pool: { min: 0, max: 1 }, driverOptions: { connectionTimeoutMillis: 500 } })
    const orm = t
    let counted = 0
    for await (const books of orm.em.aiterator(Book, { strategy: 'keyset', chunkSize: 50, batchYieldSize: 50 })) {
      counted += await orm.em.fork().count(Book, { id: { $in: books.map((b) => b.id) } })
    }
    expect(counted).toBe(db.dataset.books.length)
    await expectSettled(orm.orm, db.url, db.name)
  })
})
