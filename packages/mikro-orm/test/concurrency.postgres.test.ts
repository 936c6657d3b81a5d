import { withConnection } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { IsolationLevel } from '@mikro-orm/core'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { entityManagerOf, flushBatch } from '../src/index.js'
import { Book } from './entities.js'
import { expectSettled, identityMapSize, idleInTransaction, openOrm, type TestOrm, within } from './support.js'

const db = useTestDatabase('postgres', { seed: true })

async function sql(statement: string, params: unknown[] = []): Promise<unknown[]> {
  return withConnection(db.url, (c) => c.query(statement, params))
}

async function insertBook(rating: number): Promise<number> {
  const rows = (await sql(`insert into books (author_id, title, price, rating) values (1, 'inserted', 9.99, $1) returning id`, [rating])) as { id: number }[]
  return rows[0]!.id
}

describe('concurrent writes during a keyset run (prefetch: 0, so each chunk is read when needed)', () => {
  let t: TestOrm
  beforeEach(() => {
    t = openOrm('postgres', db.url)
  })
  afterEach(async () => {
    await expectSettled(t.orm, db.url, db.name)
    await t.close()
  })

  it('rows inserted ahead of the position are yielded once; rows deleted ahead are not yielded; deleting a yielded row changes nothing', async () => {
    const ids: number[] = []
    let insertedAhead: number | undefined
    let deletedAhead: number | undefined
    let deletedBehind: number | undefined
    // order: rating asc, id asc; after the first batch the position is inside rating 1
    for await (const books of t.em.aiterator(Book, { orderBy: { rating: 'asc' }, chunkSize: 20, batchYieldSize: 20, prefetch: 0 })) {
      ids.push(...books.map((b) => b.id))
      if (insertedAhead === undefined) {
        expect(books.at(-1)!.rating).toBe(1)
        insertedAhead = await insertBook(5)
        deletedBehind = books[0]!.id
        deletedAhead = db.dataset.books.find((b) => b.rating === 4)!.id
        for (const id of [deletedBehind, deletedAhead]) {
          await sql('delete from book_tags where book_id = $1', [id])
          await sql('delete from books where id = $1', [id])
        }
      }
    }
    expect(new Set(ids).size).toBe(ids.length)
    expect(ids.filter((id) => id === insertedAhead)).toHaveLength(1)
    expect(ids).not.toContain(deletedAhead)
    expect(ids).toContain(deletedBehind) // yielded before it was deleted
    expect(ids).toHaveLength(db.dataset.books.length + 1 - 1) // one inserted ahead, one deleted ahead
  })

  it('with the primary key descending, a new row (highest id) is behind the position and is not yielded', async () => {
    const ids: number[] = []
    let inserted: number | undefined
    for await (const books of t.em.aiterator(Book, { orderBy: { id: 'desc' }, chunkSize: 25, batchYieldSize: 25, prefetch: 0 })) {
      ids.push(...books.map((b) => b.id))
      inserted ??= await insertBook(3)
    }
    expect(ids).not.toContain(inserted)
    expect(new Set(ids).size).toBe(ids.length)
  })

  it('an update that moves a yielded row past the position yields it again (documented keyset semantics)', async () => {
    const ids: number[] = []
    let moved: number | undefined
    for await (const books of t.em.aiterator(Book, { orderBy: { rating: 'asc' }, chunkSize: 20, batchYieldSize: 20, prefetch: 0 })) {
      ids.push(...books.map((b) => b.id))
      if (moved === undefined) {
        moved = books[0]!.id
        await sql('update books set rating = 5 where id = $1', [moved])
      }
    }
    expect(ids.filter((id) => id === moved)).toHaveLength(2)
  })
  it('updates by another session: a row moved further ahead is yielded once with its new value, a row moved behind the position is never yielded, a changed non-sort column is seen', async () => {
    const seen = new Map<number, { rating: number; title: string; times: number }>()
    let movedAhead: number | undefined
    let movedBehind: number | undefined
    let retitled: number | undefined
    const before = await t.em.fork().count(Book)
    // order: rating asc, id asc; after the first batch the position is (1, lastId)
    for await (const books of t.em.aiterator(Book, { orderBy: { rating: 'asc' }, chunkSize: 20, batchYieldSize: 20, prefetch: 0 })) {
      for (const b of books) seen.set(b.id, { rating: b.rating, title: b.title, times: (seen.get(b.id)?.times ?? 0) + 1 })
      if (movedAhead === undefined) {
        const last = books.at(-1)!
        expect(last.rating).toBe(1)
        // rows as they are now (earlier tests of this file changed some)
        const first = async (where: string, params: unknown[] = []) => ((await sql(`select min(id) as id from books where ${where}`, params)) as { id: number }[])[0]!.id
        movedAhead = await first('rating = 2')
        movedBehind = await first('rating = 4 and id < $1', [last.id]) // (1, id) sorts before (1, lastId)
        retitled = await first('rating = 3')
        for (const id of [movedAhead, movedBehind, retitled]) expect(id).toEqual(expect.any(Number))
        await sql('update books set rating = 5 where id = $1', [movedAhead])
        await sql('update books set rating = 1 where id = $1', [movedBehind])
        await sql(`update books set title = 'retitled during the run' where id = $1`, [retitled])
      }
    }
    expect(seen.get(movedAhead!)).toMatchObject({ rating: 5, times: 1 })
    expect(seen.has(movedBehind!)).toBe(false)
    expect(seen.get(retitled!)).toMatchObject({ title: 'retitled during the run', times: 1 })
    expect([...seen.values()].every((row) => row.times === 1)).toBe(true)
    expect(seen.size).toBe(before - 1) // every row but the one moved behind
  })
})

describe('inside em.transactional with a pool of one connection', () => {
  let t: TestOrm
  beforeEach(() => {
    t = openOrm('postgres', db.url, { pool: { min: 0, max: 1 } })
  })
  afterEach(async () => {
    await expectSettled(t.orm, db.url, db.name)
    await t.close()
  })

  it('keyset reads in the transaction, and the loop can query and flush on the same connection', async () => {
    const before = await t.em.fork().count(Book)
    await within(
      20_000,
      t.em.transactional(async (em) => {
        const fresh = em.create(Book, { author: 1, title: 'uncommitted', price: '1.00', rating: 2, publishedAt: null })
        await em.flush()
        const managedBefore = identityMapSize(em) // the new book and its author reference
        let rows = 0
        let sawUncommitted = false
        for await (const books of em.aiterator(Book, { orderBy: { rating: 'desc' }, chunkSize: 40, batchYieldSize: 25 })) {
          rows += books.length
          sawUncommitted ||= books.some((b) => b.id === fresh.id)
          expect(entityManagerOf(books[0]!).getTransactionContext()).toBe(em.getTransactionContext())
          for (const book of books) book.price = '2.00'
          await flushBatch(books)
          expect(await em.count(Book, { price: '2.00' })).toBeGreaterThanOrEqual(rows) // a query on the same (only) connection
        }
        expect(rows).toBe(before + 1)
        expect(sawUncommitted).toBe(true)
        expect(identityMapSize(em)).toBe(managedBefore)
      }),
      'em.transactional with aiterator on a pool of one',
    )
    expect(await t.em.fork().count(Book, { price: { $ne: '2.00' } })).toBe(0)
    expect(await idleInTransaction(db.url, db.name)).toBe(0)
  })

  it('the global EntityManager inside em.transactional(cb) resolves to the transaction; a throw rolls the batch changes back', async () => {
    const original = (await t.em.fork().findOneOrFail(Book, { title: { $ne: 'x' } }, { orderBy: { id: 'asc' } })).title
    await expect(
      t.em.transactional(async () => {
        for await (const books of t.em.aiterator(Book, { batchYieldSize: 50, chunkSize: 50 })) {
          for (const book of books) book.title = 'rolled back'
          await flushBatch(books)
          throw new Error('abort the transaction')
        }
      }),
    ).rejects.toThrow('abort the transaction')
    const first = await t.em.fork().findOneOrFail(Book, { title: { $ne: 'x' } }, { orderBy: { id: 'asc' } })
    expect(first.title).toBe(original)
    expect(await idleInTransaction(db.url, db.name)).toBe(0)
  })

  it('inside a REPEATABLE READ transaction, keyset reads one snapshot: rows inserted meanwhile by others are not yielded', async () => {
    const before = await t.em.fork().count(Book)
    let inserted: number | undefined
    let rows = 0
    await t.em.transactional(
      async (em) => {
        for await (const books of em.aiterator(Book, { chunkSize: 30, batchYieldSize: 30, prefetch: 0 })) {
          rows += books.length
          inserted ??= await insertBook(5) // another session, committed at once, highest id: ahead of the position
        }
      },
      { isolationLevel: IsolationLevel.REPEATABLE_READ },
    )
    expect(rows).toBe(before)
    expect(await t.em.fork().count(Book, { id: inserted })).toBe(1)
  })

  it("cursor reads on the transaction's connection (sees its uncommitted rows), and the loop body can query and flush there", async () => {
    await within(
      20_000,
      t.em.transactional(async (em) => {
        const fresh = em.create(Book, { author: 3, title: 'uncommitted for the cursor', price: '4.00', rating: 4, publishedAt: null })
        await em.flush()
        const ids: number[] = []
        // between fetches the transaction's connection is free: the loop body queries and flushes on it
        for await (const books of em.aiterator(Book, { strategy: 'cursor', chunkSize: 64, batchYieldSize: 50 })) {
          ids.push(...books.map((b) => b.id))
          for (const book of books) book.title = `${book.title} (cursor)`
          await flushBatch(books)
          expect(await em.count(Book, { title: { $like: '% (cursor)' } })).toBe(ids.length)
        }
        expect(ids).toContain(fresh.id)
        expect(new Set(ids).size).toBe(ids.length)
        expect(await em.count(Book)).toBe(ids.length)
      }),
      'cursor inside em.transactional on a pool of one',
    )
    expect(await idleInTransaction(db.url, db.name)).toBe(0)
  })

  it('outside a transaction, the caller can query and flush between batches on a pool of one', async () => {
    const em = t.em.fork()
    let batches = 0
    await within(
      20_000,
      (async () => {
        for await (const books of em.aiterator(Book, { batchYieldSize: 100 })) {
          batches++
          em.create(Book, { author: 2, title: `between batches ${batches}`, price: '3.00', rating: 3, publishedAt: null })
          await em.flush()
          expect(books.length).toBeGreaterThan(0)
        }
      })(),
      'keyset loop with flushes on a pool of one',
    )
    expect(await t.em.fork().count(Book, { title: { $like: 'between batches %' } })).toBe(batches)
  })
})

describe('more concurrent cursor iterators than pool connections', () => {
  it('four cursor runs at once on a pool of two: the later ones wait for a connection, none deadlocks, all read every row', async () => {
    const t = openOrm('postgres', db.url, { pool: { min: 0, max: 2 } })
    try {
      const run = async (): Promise<number> => {
        let rows = 0
        for await (const books of t.em.aiterator(Book, { strategy: 'cursor', chunkSize: 25, batchYieldSize: 25, populate: ['author'] })) rows += books.length
        return rows
      }
      const expected = await t.em.fork().count(Book)
      const counts = await within(30_000, Promise.all([run(), run(), run(), run()]), 'four cursor runs on a pool of two')
      expect(counts).toEqual([expected, expected, expected, expected])
      expect(await idleInTransaction(db.url, db.name)).toBe(0)
    } finally {
      await t.close()
    }
  })
})
