import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  connect,
  createTestDatabase,
  type Dataset,
  dialects,
  generateDataset,
  seed,
  type TestDatabase,
} from '@batchyield/test-fixtures'
import { readTable } from './read-table.ts'

const databases: Partial<Record<(typeof dialects)[number], { db: TestDatabase; dataset: Dataset }>> = {}

beforeAll(async () => {
  for (const dialect of dialects) {
    const db = await createTestDatabase({ dialect })
    databases[dialect] = { db, dataset: await seed(db.url) }
  }
})

afterAll(async () => {
  for (const entry of Object.values(databases)) await entry?.db.drop()
})

const get = (dialect: (typeof dialects)[number]) => {
  const entry = databases[dialect]
  if (!entry) throw new Error(`no ${dialect} database`)
  return entry
}

const tablesOf = (dataset: Dataset) =>
  [
    ['authors', dataset.authors],
    ['books', dataset.books],
    ['tags', dataset.tags],
    ['book_tags', dataset.bookTags],
    ['order_lines', dataset.orderLines],
    ['devices', dataset.devices],
    ['countries', dataset.countries],
  ] as const

describe.each(dialects)('seed on %s', (dialect) => {
  it('returns the generated dataset for its options', () => {
    expect(get(dialect).dataset).toEqual(generateDataset())
  })

  it('stores every generated row unchanged, read back in primary-key order', async () => {
    const { db, dataset } = get(dialect)
    for (const [table, rows] of tablesOf(dataset)) {
      expect(await readTable(db.url, table), table).toEqual(rows)
    }
  })

  it('moves id sequences past the seeded rows so inserts without an id still work', async () => {
    const { db, dataset } = get(dialect)
    await using connection = await connect(db.url)
    const sql =
      dialect === 'postgres'
        ? 'INSERT INTO tags (name) VALUES ($1) RETURNING id'
        : 'INSERT INTO tags (name) VALUES (?) RETURNING id'
    const [row] = await connection.query<{ id: number }>(sql, [`extra-${dialect}`])
    expect(row?.id).toBe(dataset.tags.length + 1)
    await connection.query(
      dialect === 'postgres' ? 'DELETE FROM tags WHERE id = $1' : 'DELETE FROM tags WHERE id = ?',
      [row?.id],
    )
  })

  it('replaces the previous contents when run again with other counts', async () => {
    const { db } = get(dialect)
    const other = await createTestDatabase({ dialect })
    try {
      await seed(other.url)
      const smaller = await seed(other.url, { counts: { books: 20, countries: 5 }, seed: 99 })
      expect(await readTable(other.url, 'books')).toEqual(smaller.books)
      expect(await readTable(other.url, 'countries')).toEqual(smaller.countries)
      expect(await readTable(other.url, 'book_tags')).toEqual(smaller.bookTags)
      // and the first database kept its own rows
      expect(await readTable(db.url, 'books')).toHaveLength(400)
    } finally {
      await other.drop()
    }
  })
})

describe('seeded PostgreSQL and MariaDB', () => {
  it('hold the same rows in every small table', async () => {
    for (const [table] of tablesOf(get('postgres').dataset)) {
      expect(await readTable(get('mariadb').db.url, table), table).toEqual(
        await readTable(get('postgres').db.url, table),
      )
    }
  })

  it('agree on aggregates computed by each server', async () => {
    const aggregates = async (url: string, dialect: string) => {
      await using connection = await connect(url)
      const [books] = await connection.query<Record<string, unknown>>(
        `SELECT count(*) AS n, sum(price) AS total, count(published_at) AS published,
                min(published_at) AS first, max(published_at) AS last, count(DISTINCT rating) AS ratings
         FROM books`,
      )
      const byRating = await connection.query<Record<string, unknown>>(
        'SELECT rating, count(*) AS n, sum(price) AS total FROM books GROUP BY rating ORDER BY rating',
      )
      const [countries] = await connection.query<Record<string, unknown>>(
        `SELECT count(*) AS n, sum(population) AS people, min(code) AS first_code, max(code) AS last_code FROM countries`,
      )
      const [tags] = await connection.query<Record<string, unknown>>(
        'SELECT count(*) AS n, count(DISTINCT book_id) AS books FROM book_tags',
      )
      const codes = await connection.query<{ code: string }>('SELECT code FROM countries ORDER BY code')
      const normalise = (row: Record<string, unknown> | undefined) =>
        Object.fromEntries(
          Object.entries(row ?? {}).map(([key, value]) => [
            key,
            value instanceof Date ? value.toISOString() : String(value),
          ]),
        )
      return {
        dialect,
        result: {
          books: normalise(books),
          byRating: byRating.map(normalise),
          countries: normalise(countries),
          tags: normalise(tags),
          codeOrder: codes.map((row) => row.code),
        },
      }
    }
    const pg = await aggregates(get('postgres').db.url, 'postgres')
    const maria = await aggregates(get('mariadb').db.url, 'mariadb')
    expect(maria.result).toEqual(pg.result)
    expect(pg.result.books.n).toBe('400')
    expect(pg.result.byRating).toHaveLength(5)
  })
})
