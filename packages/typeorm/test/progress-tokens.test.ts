import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import type { DataSource, ObjectLiteral, SelectQueryBuilder } from 'typeorm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { aiterator, type TypeormBatchOptions } from '../src/index.js'
import { collect } from './support/collect.js'
import { openDataSource } from './support/data-source.js'
import { Author, Book } from './support/entities.js'

// Every token onProgress reports, not only the one before a crash, must point just past the
// entity it was reported for, whatever the read-ahead holds when it is asked for: batches that
// end mid-chunk, batches spanning chunks, entities one at a time, a slow consumer that lets
// the read-ahead fill up.

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const queries: { name: string; query: (ds: DataSource) => SelectQueryBuilder<ObjectLiteral> }[] = [
  { name: 'books by nullable timestamp DESC', query: (ds) => ds.getRepository(Book).createQueryBuilder('b').orderBy('b.publishedAt', 'DESC') },
  {
    name: 'authors with their books (to-many join)',
    query: (ds) => ds.getRepository(Author).createQueryBuilder('a').leftJoinAndSelect('a.books', 'bk').orderBy('a.createdAt', 'ASC').addOrderBy('a.id').addOrderBy('bk.id'),
  },
]

const settings: { name: string; options: TypeormBatchOptions; delayMs: number }[] = [
  { name: 'batches ending mid-chunk, prefetch 2, slow consumer', options: { batchYieldSize: 5, chunkSize: 13, prefetch: 2 }, delayMs: 2 },
  { name: 'batches spanning chunks, prefetch 1', options: { batchYieldSize: 31, chunkSize: 13, prefetch: 1 }, delayMs: 0 },
  { name: 'batches spanning chunks, prefetch 0, slow consumer', options: { batchYieldSize: 20, chunkSize: 7, prefetch: 0 }, delayMs: 2 },
  { name: 'one entity at a time, prefetch 3, slow consumer', options: { chunkSize: 11, prefetch: 3, limit: 60 }, delayMs: 1 },
]

describe('resume tokens of every progress report (postgres)', () => {
  const db = useTestDatabase('postgres', { seed: true })
  let ds: DataSource
  beforeAll(async () => {
    ds = await openDataSource('postgres', db.url)
  })
  afterAll(async () => {
    await ds?.destroy()
  })

  describe.each(queries)('$name', ({ query }) => {
    it.each(settings)('$name: each token resumes right after the last entity reported', async ({ options, delayMs }) => {
      const everything = (await collect(aiterator(query(ds), { batchYieldSize: 1000 }))).flat()
      const reports: { cursor: string | undefined; rows: number }[] = []
      const seen: ObjectLiteral[] = []
      for await (const yielded of aiterator(query(ds), { ...options, onProgress: ({ cursor, rows }) => reports.push({ cursor, rows }) } as TypeormBatchOptions)) {
        seen.push(...(Array.isArray(yielded) ? yielded : [yielded]))
        if (delayMs > 0) await sleep(delayMs)
      }
      const total = Math.min(options.limit ?? Infinity, everything.length)
      expect(seen).toStrictEqual(everything.slice(0, total))
      expect(reports.length).toBe(Math.ceil(total / (options.batchYieldSize ?? 1)))
      for (const { cursor, rows } of reports) {
        expect(typeof cursor).toBe('string')
        const next = await collect(aiterator(query(ds), { batchYieldSize: 1, limit: 1, after: cursor }))
        expect(next.flat()).toStrictEqual(everything.slice(rows, rows + 1))
      }
    })
  })
})
