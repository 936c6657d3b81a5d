import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { flushBatch, KeysetOrderingError, StrategyUnavailableError } from '../src/index.js'
import { Book } from './entities.js'
import { identityMapSize, openOrm, type TestOrm, within } from './support.js'

const db = useTestDatabase('mariadb', { seed: true })
let t: TestOrm
beforeAll(() => {
  t = openOrm('mariadb', db.url, { pool: { min: 0, max: 1 } })
})
afterAll(() => t?.close())

describe('MariaDB', () => {
  it("strategy 'cursor' is a StrategyUnavailableError at the call, before any query", () => {
    const before = t.queries.length
    const call = () => t.em.aiterator(Book, { strategy: 'cursor', batchYieldSize: 10 })
    expect(call).toThrow(StrategyUnavailableError)
    expect(call).toThrow(/strategy 'cursor' needs PostgreSQL.*MariaDb.*strategy: 'keyset'/)
    expect(t.queries.length).toBe(before)
  })

  it("strategy 'auto' with an ordering keyset cannot follow: KeysetOrderingError (no cursor fallback here)", () => {
    const call = () => t.em.aiterator(Book, { orderBy: { author: { name: 'asc' } } })
    expect(call).toThrow(KeysetOrderingError)
    expect(call).toThrow(/relation "author".*'cursor', the fallback, needs PostgreSQL; this EntityManager uses MariaDb/)
  })

  it('backfill with flushBatch inside em.transactional on a pool of one changes every row exactly once', async () => {
    await within(
      20_000,
      t.em.transactional(async (em) => {
        for await (const books of em.aiterator(Book, { orderBy: { publishedAt: 'asc' }, chunkSize: 45, batchYieldSize: 30 })) {
          for (const book of books) book.title += ' (revised)'
          await flushBatch(books)
          expect(identityMapSize(em)).toBe(0)
        }
      }),
      'backfill on MariaDB',
    )
    const titles = new Map((await t.em.fork().find(Book, {})).map((b) => [b.id, b.title]))
    expect(titles.size).toBe(db.dataset.books.length)
    for (const row of db.dataset.books) expect(titles.get(row.id)).toBe(`${row.title} (revised)`)
  })
})
