import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { entityManagerOf, flushBatch } from '../src/index.js'
import { Author, Book } from './entities.js'
import { identityMapSize, openOrm, type TestOrm } from './support.js'
import { WHOLE_CHUNKS } from './whole-chunks.js'

const db = useTestDatabase('postgres', { seed: true })
let t: TestOrm
beforeAll(() => {
  t = openOrm('postgres', db.url)
})
afterAll(() => t?.close())

describe('memory: each chunk lives in its own fork', () => {
  it("the caller's identity map stays empty; entities are managed by a fork holding only their chunk", async () => {
    const seen = new Set<object>()
    for await (const books of t.em.aiterator(Book, { populate: ['author'], chunkSize: 50, batchYieldSize: 20 })) {
      expect(identityMapSize(t.em)).toBe(0)
      for (const book of books) {
        const batchEm = entityManagerOf(book)
        expect(batchEm).not.toBe(t.em)
        seen.add(batchEm)
        // the chunk's books plus the authors populated with them, never the whole table
        expect(identityMapSize(batchEm)).toBeLessThanOrEqual(50 + db.dataset.authors.length)
      }
    }
    expect(identityMapSize(t.em)).toBe(0)
    // the first round trip reads one batch (20), every later one a chunk (50)
    expect(seen.size).toBe(1 + Math.ceil((db.dataset.books.length - 20) / 50))
  })

  for (const strategy of ['keyset', 'cursor'] as const) {
    it(`${strategy}: populated relations load once per chunk, never one query per entity`, async () => {
      const before = t.queries.length
      let rows = 0
      for await (const books of t.em.aiterator(Book, {
        strategy,
        populate: ['author', 'tags'],
        chunkSize: 50,
        batchYieldSize: 50,
        ...WHOLE_CHUNKS,
      })) {
        rows += books.length
        expect(books.every((b) => b.author.name.length > 0 && b.tags.isInitialized())).toBe(true)
      }
      const queries = t.queries.slice(before)
      expect(rows).toBe(db.dataset.books.length)
      if (strategy === 'keyset') {
        // 8 full chunks × (books joined with authors + one select-in for all tags of the chunk),
        // plus the empty 9th query that finds the end
        expect(queries).toHaveLength(8 * 2 + 1)
      } else {
        // begin + declare the key cursor, then 8 chunks × (fetch keys + books joined with authors +
        // one select-in for the chunk's tags), the fetch that finds the end, and commit
        expect(queries).toHaveLength(2 + 8 * 3 + 1 + 1)
        expect(queries.filter((q) => q.startsWith('select')).length).toBe(8 * 2)
      }
    })
  }

  it('one-to-many populate: one select-in query per chunk', async () => {
    const before = t.queries.length
    let authors = 0
    for await (const batch of t.em.aiterator(Author, { populate: ['books'], chunkSize: 10, batchYieldSize: 10 })) {
      authors += batch.length
    }
    expect(authors).toBe(db.dataset.authors.length)
    // 4 chunks × (authors + their books), plus the final empty query
    expect(t.queries.slice(before)).toHaveLength(4 * 2 + 1)
  })
})

describe('backfill: change a batch, flush it, go on', () => {
  for (const strategy of ['keyset', 'cursor'] as const) {
    it(`${strategy}: every row is changed exactly once and the caller's EntityManager does not grow`, async () => {
      const marker = ` [${strategy}]`
      let batches = 0
      // 30 does not divide 45: some batches span two chunks, i.e. two forks; flushBatch flushes both.
      for await (const books of t.em.aiterator(Book, { strategy, chunkSize: 45, batchYieldSize: 30 })) {
        for (const book of books) book.title += marker
        await flushBatch(books)
        batches++
        expect(identityMapSize(t.em)).toBe(0)
      }
      expect(batches).toBe(Math.ceil(db.dataset.books.length / 30))
      const titles = new Map((await t.em.fork().find(Book, {}, { fields: ['title'] })).map((b) => [b.id, b.title]))
      for (const row of db.dataset.books) {
        expect(titles.get(row.id)?.startsWith(row.title)).toBe(true)
        expect(titles.get(row.id)!.split(marker)).toHaveLength(2) // marker present once, at the end
      }
      expect(identityMapSize(t.em)).toBe(0)
    })
  }
})
