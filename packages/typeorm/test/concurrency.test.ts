import { withConnection } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import type { DataSource, ObjectLiteral, SelectQueryBuilder } from 'typeorm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { aiterator, type Strategy } from '../src/index.js'
import { collect } from './support/collect.js'
import { openDataSource } from './support/data-source.js'
import { Author, Book, OrderLine } from './support/entities.js'
import { expectCleanPool } from './support/pool.js'

const db = useTestDatabase('postgres', { seed: true })
let ds: DataSource
beforeAll(async () => {
  ds = await openDataSource('postgres', db.url, { poolSize: 5 })
})
afterAll(async () => {
  await ds?.destroy()
})

const byPublished = () => ds.getRepository(Book).createQueryBuilder('b').orderBy('b.publishedAt', 'ASC').addOrderBy('b.id', 'ASC')

/** Another session writes (autocommit) while the iteration runs. */
const write = (sql: string, params: unknown[] = []) => withConnection(db.url, (c) => c.query(sql, params))

describe('writes by another session during a run', () => {
  it('keyset: every row that existed throughout is seen exactly once; rows inserted ahead are seen, behind are not', async () => {
    const before = (await byPublished().getMany()).map((b) => b.id)
    const seen: number[] = []
    const deleted: number[] = []
    const insertedAhead: number[] = []
    const insertedBehind: number[] = []
    let batches = 0
    for await (const batch of aiterator(byPublished(), { batchYieldSize: 20, chunkSize: 20, strategy: 'keyset' })) {
      seen.push(...batch.map((b) => b.id))
      batches++
      if (batches === 3 || batches === 8) {
        const position = seen.length
        // Delete two rows already seen and two far ahead (beyond any prefetched chunk).
        const victims = [before[position - 5]!, before[position - 10]!, before[position + 100]!, before[position + 150]!]
        await write('DELETE FROM books WHERE id = ANY($1::int[])', [victims])
        deleted.push(...victims)
        const ahead = await write("INSERT INTO books (author_id, title, published_at, price, rating) VALUES (1, 'late', '2100-01-01', 1, 1) RETURNING id")
        const behind = await write("INSERT INTO books (author_id, title, published_at, price, rating) VALUES (1, 'early', '1900-01-01', 1, 1) RETURNING id")
        insertedAhead.push((ahead[0] as { id: number }).id)
        insertedBehind.push((behind[0] as { id: number }).id)
      }
    }
    expect(new Set(seen).size).toBe(seen.length)
    const throughout = before.filter((id) => !deleted.includes(id))
    expect(seen.filter((id) => before.includes(id) && !deleted.includes(id))).toEqual(throughout)
    for (const id of deleted.filter((_, i) => i % 4 >= 2)) expect(seen).not.toContain(id) // deleted before reached
    for (const id of deleted.filter((_, i) => i % 4 < 2)) expect(seen).toContain(id) // deleted after seen
    for (const id of insertedAhead) expect(seen).toContain(id)
    for (const id of insertedBehind) expect(seen).not.toContain(id)
    await expectCleanPool(ds, db.url, db.name)
  })

  it('keyset: an update of a column outside the sort key is seen if the row is reached after it, not if before; no row twice', async () => {
    const before = (await byPublished().getMany()).map((b) => b.id)
    const titles = new Map<number, string>()
    let behind = -1
    let ahead = -1
    for await (const batch of aiterator(byPublished(), { batchYieldSize: 20, chunkSize: 20, prefetch: 0, strategy: 'keyset' })) {
      for (const book of batch) titles.set(book.id, book.title)
      if (titles.size === 100) {
        behind = before[50]! // already seen
        ahead = before[300]! // not reached yet
        await write("UPDATE books SET title = 'updated during the run' WHERE id = ANY($1::int[])", [[behind, ahead]])
      }
    }
    expect([...titles.keys()]).toEqual(before)
    expect(titles.get(ahead)).toBe('updated during the run')
    expect(titles.get(behind)).not.toBe('updated during the run')
    await expectCleanPool(ds, db.url, db.name)
  })

  it('keyset: a row whose sort key moves behind the position is missed, one that moves ahead is seen again (documented)', async () => {
    const before = (await byPublished().getMany()).map((b) => b.id)
    const seen: number[] = []
    let movedAhead = -1
    let movedBehind = -1
    for await (const batch of aiterator(byPublished(), { batchYieldSize: 20, chunkSize: 20, prefetch: 0, strategy: 'keyset' })) {
      seen.push(...batch.map((b) => b.id))
      if (seen.length === 100) {
        movedAhead = seen[10]! // already seen: moves to the far end
        movedBehind = before[300]! // not reached yet: moves to the start
        await write("UPDATE books SET published_at = '2101-01-01' WHERE id = $1", [movedAhead])
        await write("UPDATE books SET published_at = '1800-01-01' WHERE id = $1", [movedBehind])
      }
    }
    expect(seen.filter((id) => id === movedAhead)).toHaveLength(2)
    expect(seen).not.toContain(movedBehind)
    const unmoved = before.filter((id) => id !== movedAhead && id !== movedBehind)
    expect(seen.filter((id) => unmoved.includes(id))).toEqual(unmoved)
    await expectCleanPool(ds, db.url, db.name)
  })

  it('cursor: the run sees the snapshot taken when it started', async () => {
    const before = (await byPublished().getMany()).map((b) => b.id)
    const seen: number[] = []
    let wrote = false
    for await (const batch of aiterator(byPublished(), { batchYieldSize: 25, chunkSize: 10, strategy: 'cursor' })) {
      seen.push(...batch.map((b) => b.id))
      if (!wrote) {
        wrote = true
        await write('DELETE FROM books WHERE id = ANY($1::int[])', [before.slice(-30)])
        await write("INSERT INTO books (author_id, title, published_at, price, rating) SELECT 1, 'new', '2099-01-01', 2, 2 FROM generate_series(1, 10)")
        await write("UPDATE books SET title = 'changed' WHERE id = $1", [before[100]])
      }
    }
    expect(seen).toEqual(before)
    expect((await byPublished().getMany()).map((b) => b.id)).not.toEqual(before)
    await expectCleanPool(ds, db.url, db.name)
  })
})

describe('many iterators on a pool of five', () => {
  it('fifty keyset iterators at once all finish', async () => {
    const query = () => ds.getRepository(Book).createQueryBuilder('b').leftJoinAndSelect('b.author', 'a').orderBy('b.rating', 'DESC')
    const expected = (await query().addOrderBy('b.id', 'DESC').getMany()).slice(0, 60)
    const runs = Array.from({ length: 50 }, (_, i) => collect(aiterator(query(), { batchYieldSize: 5 + (i % 7), chunkSize: 9 + (i % 5), limit: 60, strategy: 'keyset' })))
    for (const batches of await Promise.all(runs)) expect(batches.flat()).toStrictEqual(expected)
    await expectCleanPool(ds, db.url, db.name)
  })

  const queries: { name: string; strategy: Strategy; query: () => SelectQueryBuilder<ObjectLiteral> }[] = [
    { name: 'books with tags', strategy: 'keyset', query: () => ds.getRepository(Book).createQueryBuilder('b').leftJoinAndSelect('b.tags', 't').orderBy('b.id').addOrderBy('t.id') },
    { name: 'authors with books', strategy: 'keyset', query: () => ds.getRepository(Author).createQueryBuilder('a').leftJoinAndSelect('a.books', 'bk').orderBy('a.id').addOrderBy('bk.id') },
    { name: 'order lines', strategy: 'keyset', query: () => ds.getRepository(OrderLine).createQueryBuilder('l').orderBy('l.orderId').addOrderBy('l.lineNo') },
    { name: 'books by rating', strategy: 'cursor', query: () => ds.getRepository(Book).createQueryBuilder('b').orderBy('b.rating').addOrderBy('b.id') },
    { name: 'books with tags', strategy: 'cursor', query: () => ds.getRepository(Book).createQueryBuilder('b').leftJoinAndSelect('b.tags', 't').orderBy('b.id').addOrderBy('t.id') },
  ]
  it('ten iterators at once (keyset and cursor) finish with the same entities as getMany(), and the pool ends idle', async () => {
    const runs = [...queries, ...queries].map(async ({ query, strategy }, i) => {
      const expected = await query().getMany()
      const batches = await collect(aiterator(query(), { batchYieldSize: 7 + i, chunkSize: 11 + i, strategy }))
      expect(batches.flat()).toStrictEqual(expected)
    })
    await Promise.all(runs)
    await expectCleanPool(ds, db.url, db.name)
  })
})
