import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { InvalidResumeTokenError, type Progress, StrategyUnavailableError } from '../src/index.js'
import { Book, Country, Device } from './entities.js'
import { collectBatches, openOrm, pkOf, type TestOrm } from './support.js'

const db = useTestDatabase('postgres', { seed: true })
let t: TestOrm
beforeAll(() => {
  t = openOrm('postgres', db.url)
})
afterAll(() => t?.close())

const query = { orderBy: { publishedAt: 'desc' }, populate: ['author'], chunkSize: 17, batchYieldSize: 10 } as const

/** Runs `query` until the loop body throws after `batches` batches; returns what was processed and the last progress. */
async function crashAfter(batches: number, options: object = query): Promise<{ done: string[]; last: Progress | undefined }> {
  const done: string[] = []
  let last: Progress | undefined
  await expect(
    (async () => {
      let n = 0
      for await (const books of t.em.aiterator(Book, { ...options, batchYieldSize: 10, onProgress: (p) => (last = p) })) {
        done.push(...books.map(pkOf))
        if (++n === batches) throw new Error('worker crashed')
      }
    })(),
  ).rejects.toThrow('worker crashed')
  return { done, last }
}

describe('resume tokens', () => {
  it('onProgress reports a cursor after each batch; resuming with after continues exactly after the last processed row', async () => {
    const full = (await collectBatches(t.em.aiterator(Book, query))).flat().map(pkOf)
    const { done, last } = await crashAfter(7)
    expect(last?.rows).toBe(70)
    expect(typeof last?.cursor).toBe('string')
    const rest = (await collectBatches(t.em.aiterator(Book, { ...query, after: last!.cursor }))).flat().map(pkOf)
    expect([...done, ...rest]).toEqual(full)
    expect(new Set([...done, ...rest]).size).toBe(db.dataset.books.length)
  })

  it('a token taken in the NULL region of a nullable sort column resumes correctly', async () => {
    // published_at desc puts NULLs first (PostgreSQL): the first batches are all NULL rows
    const nulls = db.dataset.books.filter((b) => b.published_at === null).length
    expect(nulls).toBeGreaterThan(10)
    const full = (await collectBatches(t.em.aiterator(Book, query))).flat().map(pkOf)
    const { done, last } = await crashAfter(1)
    const rest = (await collectBatches(t.em.aiterator(Book, { ...query, after: last!.cursor }))).flat().map(pkOf)
    expect([...done, ...rest]).toEqual(full)
  })

  it('resumes composite, UUID and string keys', async () => {
    for (const entity of [Device, Country] as const) {
      const options = { chunkSize: 7, batchYieldSize: 5 }
      const full = (await collectBatches(t.em.aiterator(entity as typeof Device, options))).flat().map(pkOf)
      let token: string | undefined
      const done: string[] = []
      for await (const batch of t.em.aiterator(entity as typeof Device, { ...options, onProgress: (p) => (token = p.cursor) })) {
        done.push(...batch.map(pkOf))
        if (done.length >= 15) break
      }
      const rest = (await collectBatches(t.em.aiterator(entity as typeof Device, { ...options, after: token }))).flat().map(pkOf)
      expect([...done, ...rest]).toEqual(full)
    }
  })

  it('rejects, before any query, a token made for another entity, another ordering, or tampered with', async () => {
    let deviceToken: string | undefined
    for await (const _ of t.em.aiterator(Device, { batchYieldSize: 5, limit: 5, onProgress: (p) => (deviceToken = p.cursor) })) break
    let bookToken: string | undefined
    for await (const _ of t.em.aiterator(Book, { ...query, limit: 10, onProgress: (p) => (bookToken = p.cursor) })) break
    const before = t.queries.length
    expect(() => t.em.aiterator(Book, { ...query, after: deviceToken })).toThrow(InvalidResumeTokenError)
    expect(() => t.em.aiterator(Book, { ...query, orderBy: { publishedAt: 'asc' }, after: bookToken })).toThrow(InvalidResumeTokenError)
    const tampered = bookToken!.slice(0, -2) + (bookToken!.endsWith('A') ? 'BB' : 'AA')
    expect(() => t.em.aiterator(Book, { ...query, after: tampered })).toThrow(InvalidResumeTokenError)
    expect(() => t.em.aiterator(Book, { ...query, after: 'not a token' })).toThrow(InvalidResumeTokenError)
    expect(t.queries.length).toBe(before)
  })

  it('the cursor strategy reports no resume token and refuses after', async () => {
    const cursors: (string | undefined)[] = []
    for await (const _ of t.em.aiterator(Book, { strategy: 'cursor', batchYieldSize: 100, onProgress: (p) => cursors.push(p.cursor) }));
    expect(cursors).toEqual([undefined, undefined, undefined, undefined])
    expect(() => t.em.aiterator(Book, { strategy: 'cursor', after: 'AQ', batchYieldSize: 5 })).toThrow(StrategyUnavailableError)
  })
})
