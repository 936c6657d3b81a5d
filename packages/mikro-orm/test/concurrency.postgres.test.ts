import { withConnection } from '@batchyield/test-fixtures'
import { defineConcurrencySuite } from '@batchyield/test-fixtures/conformance'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { IsolationLevel } from '@mikro-orm/core'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { entityManagerOf, flushBatch } from '../src/index.js'
import { mikroOrmFixtureDriver } from './conformance-driver.js'
import { Book } from './entities.js'
import { expectSettled, identityMapSize, idleInTransaction, openOrm, type TestOrm, within } from './support.js'

const db = useTestDatabase('postgres', { seed: true })

async function sql(statement: string, params: unknown[] = []): Promise<unknown[]> {
  return withConnection(db.url, (c) => c.query(statement, params))
}

async function insertBook(rating: number): Promise<number> {
  const rows = (await sql(
    `insert into books (author_id, title, price, rating) values (1, 'inserted', 9.99, $1) returning id`,
    [rating],
  )) as { id: number }[]
  return rows[0]!.id
}

describe('concurrency on PostgreSQL (the conformance scenario)', () => {
  defineConcurrencySuite(mikroOrmFixtureDriver('postgres'))
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
        for await (const books of em.aiterator(Book, {
          orderBy: { rating: 'desc' },
          chunkSize: 40,
          batchYieldSize: 25,
        })) {
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
        const fresh = em.create(Book, {
          author: 3,
          title: 'uncommitted for the cursor',
          price: '4.00',
          rating: 4,
          publishedAt: null,
        })
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
          em.create(Book, {
            author: 2,
            title: `between batches ${batches}`,
            price: '3.00',
            rating: 3,
            publishedAt: null,
          })
          await em.flush()
          expect(books.length).toBeGreaterThan(0)
        }
      })(),
      'keyset loop with flushes on a pool of one',
    )
    expect(await t.em.fork().count(Book, { title: { $like: 'between batches %' } })).toBe(batches)
  })
})
