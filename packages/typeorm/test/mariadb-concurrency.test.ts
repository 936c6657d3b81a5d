import { withConnection } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import type { DataSource } from 'typeorm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { aiterator } from '../src/index.js'
import { KeysetSource } from '../src/keyset-source.js'
import { collect } from './support/collect.js'
import { openDataSource } from './support/data-source.js'
import { Book } from './support/entities.js'
import { expectCleanMariadbPool } from './support/pool.js'
import { leaveWhilePrefetching } from './support/early-exit.js'

// The keyset guarantees of the PostgreSQL suites (concurrency, clean-up) on MariaDB: concurrent
// writes give the documented outcome, many runs share a small pool, and every way out of a loop
// leaves the pool idle with no open transaction.

const db = useTestDatabase('mariadb', { seed: true })
let ds: DataSource
let one: DataSource
beforeAll(async () => {
  ds = await openDataSource('mariadb', db.url, { poolSize: 5 })
  one = await openDataSource('mariadb', db.url, { poolSize: 1 })
})
afterAll(async () => {
  await ds?.destroy()
  await one?.destroy()
})

const write = (sql: string, params: unknown[] = []) => withConnection(db.url, (c) => c.query(sql, params))
const byPublished = (source: DataSource) => source.getRepository(Book).createQueryBuilder('b').orderBy('b.publishedAt', 'DESC').addOrderBy('b.id', 'DESC')
const insertBook = async (publishedAt: string, title: string) => {
  await write('INSERT INTO books (author_id, title, published_at, price, rating) VALUES (1, ?, ?, 1, 1)', [title, publishedAt])
  const [row] = (await write('SELECT id FROM books WHERE title = ?', [title])) as { id: number }[]
  return Number(row!.id)
}

describe('keyset on MariaDB while another connection writes', () => {
  it('inserts, deletes, updates and moved sort keys each give the documented outcome', async () => {
    const before = (await byPublished(ds).getMany()).map((b) => b.id)
    const titles = new Map<number, string>()
    const seen: number[] = []
    const changed: Record<string, number> = {}
    for await (const batch of aiterator(byPublished(ds), { batchYieldSize: 20, chunkSize: 20, prefetch: 0, strategy: 'keyset' })) {
      for (const book of batch) {
        seen.push(book.id)
        titles.set(book.id, book.title)
      }
      if (seen.length === 100) {
        // DESC order: a later published_at is behind the position, an earlier one ahead.
        changed.insertedAhead = await insertBook('1900-01-01 00:00:00', 'inserted ahead')
        changed.insertedBehind = await insertBook('2100-01-01 00:00:00', 'inserted behind')
        changed.deletedAhead = before[250]!
        changed.deletedBehind = before[20]!
        await write('DELETE FROM book_tags WHERE book_id IN (?, ?)', [changed.deletedAhead, changed.deletedBehind])
        await write('DELETE FROM books WHERE id IN (?, ?)', [changed.deletedAhead, changed.deletedBehind])
        changed.updatedAhead = before[300]!
        changed.updatedBehind = before[50]!
        await write("UPDATE books SET title = 'updated during the run' WHERE id IN (?, ?)", [changed.updatedAhead, changed.updatedBehind])
        changed.movedBehind = before[200]! // not reached yet: moves to the start
        changed.movedAhead = before[10]! // already seen: moves to the end
        await write("UPDATE books SET published_at = '2101-01-01 00:00:00' WHERE id = ?", [changed.movedBehind])
        await write("UPDATE books SET published_at = '1800-01-01 00:00:00' WHERE id = ?", [changed.movedAhead])
      }
    }
    const count = (id: number) => seen.filter((s) => s === id).length
    expect(count(changed.insertedAhead!)).toBe(1)
    expect(count(changed.insertedBehind!)).toBe(0)
    expect(count(changed.deletedAhead!)).toBe(0)
    expect(count(changed.deletedBehind!)).toBe(1)
    expect(titles.get(changed.updatedAhead!)).toBe('updated during the run')
    expect(titles.get(changed.updatedBehind!)).not.toBe('updated during the run')
    expect(count(changed.movedBehind!)).toBe(0)
    expect(count(changed.movedAhead!)).toBe(2)
    const untouched = before.filter((id) => ![changed.deletedAhead, changed.deletedBehind, changed.movedAhead, changed.movedBehind].includes(id))
    expect(seen.filter((id) => untouched.includes(id))).toEqual(untouched)
    await expectCleanMariadbPool(ds, db.url, db.name)
  })

  it('fifty keyset runs at once on a pool of five all finish with getMany()', async () => {
    const query = () => ds.getRepository(Book).createQueryBuilder('b').leftJoinAndSelect('b.author', 'a').orderBy('b.rating', 'DESC')
    const expected = (await query().addOrderBy('b.id', 'DESC').getMany()).slice(0, 60)
    const runs = Array.from({ length: 50 }, (_, i) => collect(aiterator(query(), { batchYieldSize: 5 + (i % 7), chunkSize: 9 + (i % 5), limit: 60, strategy: 'keyset' })))
    for (const batches of await Promise.all(runs)) expect(batches.flat()).toStrictEqual(expected)
    await expectCleanMariadbPool(ds, db.url, db.name)
  })
})

describe('keyset on MariaDB, pool of one: the loop ends while a prefetched chunk is in flight', () => {
  it.each(['break', 'throw', 'abort'] as const)('%s: no unhandled rejection, close() ran once, the pool is idle and the next query runs', async (exit) => {
    // SLEEP per row: the read-ahead SELECT of the next chunk is running when the loop ends.
    const slow = one.getRepository(Book).createQueryBuilder('b').where('SLEEP(0.01) = 0').orderBy('b.id', 'ASC')
    await leaveWhilePrefetching(slow, { exit, strategy: 'keyset', source: KeysetSource, expectCleanPool: () => expectCleanMariadbPool(one, db.url, db.name) })
  })

  it('a query and another keyset run in the loop body work on a pool of one', async () => {
    const ids = (await one.getRepository(Book).find({ order: { id: 'ASC' } })).map((b) => b.id) // the first tests wrote
    const seen: number[] = []
    for await (const batch of aiterator(one.getRepository(Book).createQueryBuilder('b'), { batchYieldSize: 100, strategy: 'keyset' })) {
      seen.push(...batch.map((b) => b.id))
      expect(await one.getRepository(Book).count()).toBeGreaterThan(0)
      expect((await collect(aiterator(one.getRepository(Book).createQueryBuilder('b'), { batchYieldSize: 3, limit: 6 }))).flat().map((b) => b.id)).toEqual(ids.slice(0, 6))
    }
    expect(seen).toEqual(ids)
    await expectCleanMariadbPool(one, db.url, db.name)
  })
})
