import { withConnection } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { flushBatch, KeysetOrderingError, StrategyUnavailableError } from '../src/index.js'
import { Book, Country, OrderLine } from './entities.js'
import { collectBatches, identityMapSize, openOrm, pkOf, type TestOrm, within } from './support.js'

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
        for await (const books of em.aiterator(Book, {
          orderBy: { publishedAt: 'asc' },
          chunkSize: 45,
          batchYieldSize: 30,
        })) {
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

  it('seek queries use the primary key index (EXPLAIN: range on PRIMARY), for single, composite and string keys', async () => {
    const statements: [string, readonly unknown[]][] = []
    const traced = openOrm('mariadb', db.url, {
      onQuery: (sql: string, params: readonly unknown[]) => {
        statements.push([sql, params])
        return sql
      },
    })
    try {
      for (const entity of [Book, OrderLine, Country] as const) {
        let batches = 0
        for await (const _ of traced.em.aiterator(entity as typeof Book, { chunkSize: 20, batchYieldSize: 20 }))
          if (++batches === 2) break
      }
      const seeks = statements.filter(([sql]) => sql.includes(' > '))
      expect(seeks.length).toBeGreaterThanOrEqual(3)
      await withConnection(db.url, async (c) => {
        for (const [sql, params] of seeks) {
          const [plan] = await c.query<{ type: string; key: string | null }>(
            `EXPLAIN ${traced.em.getPlatform().formatQuery(sql, [...params])}`,
          )
          expect({ sql, type: plan?.type, key: plan?.key }).toEqual({ sql, type: 'range', key: 'PRIMARY' })
        }
      })
    } finally {
      await traced.close()
    }
  })

  it('seeks over a secondary sort key use its (column, id) index: rating asc/desc, publishedAt asc/desc (EXPLAIN: range on the index, no filesort)', async () => {
    const statements: [string, readonly unknown[]][] = []
    const traced = openOrm('mariadb', db.url, {
      onQuery: (sql: string, params: readonly unknown[]) => {
        statements.push([sql, params])
        return sql
      },
    })
    const cases = [
      [{ rating: 'asc' }, 'books_rating_id_idx'],
      [{ rating: 'desc' }, 'books_rating_id_idx'],
      [{ publishedAt: 'asc' }, 'books_published_at_id_idx'],
      [{ publishedAt: 'desc' }, 'books_published_at_id_idx'],
    ] as const
    try {
      for (const [orderBy, index] of cases) {
        statements.length = 0
        let batches = 0
        // chunks of 20 in 400 rows: the seek after the 5th chunk is past the NULL timestamps (about 1 in 10)
        for await (const _ of traced.em.aiterator(Book, { orderBy, chunkSize: 20, batchYieldSize: 20, prefetch: 0 }))
          if (++batches === 8) break
        const seeks = statements.filter(([sql]) => / [<>] /.test(sql) && /limit/i.test(sql))
        expect(seeks.length).toBeGreaterThanOrEqual(6)
        await withConnection(db.url, async (c) => {
          for (const [sql, params] of seeks) {
            const [plan] = await c.query<{ type: string; key: string | null; Extra: string | null }>(
              `EXPLAIN ${traced.em.getPlatform().formatQuery(sql, [...params])}`,
            )
            expect({ sql, type: plan?.type, key: plan?.key, filesort: /filesort/.test(plan?.Extra ?? '') }).toEqual({
              sql,
              type: 'range',
              key: index,
              filesort: false,
            })
          }
        })
      }
    } finally {
      await traced.close()
    }
  })

  it('resume after a crash, in the NULL region of a nullable sort column (NULLs first for asc on MariaDB)', async () => {
    const query = { orderBy: { publishedAt: 'asc' }, chunkSize: 13, batchYieldSize: 10 } as const
    const full = (await collectBatches(t.em.aiterator(Book, query))).flat().map(pkOf)
    for (const crashAfter of [1, 25]) {
      const done: string[] = []
      let token: string | undefined
      await expect(
        (async () => {
          let batches = 0
          for await (const books of t.em.aiterator(Book, { ...query, onProgress: (p) => (token = p.cursor) })) {
            done.push(...books.map(pkOf))
            if (++batches === crashAfter) throw new Error('crash')
          }
        })(),
      ).rejects.toThrow('crash')
      const rest = (await collectBatches(t.em.aiterator(Book, { ...query, after: token }))).flat().map(pkOf)
      expect([...done, ...rest]).toEqual(full)
    }
  })
})
