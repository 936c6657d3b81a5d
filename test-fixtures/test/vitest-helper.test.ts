import { describe, expect, it } from 'vitest'
import { connect, databaseUrls, generateDataset } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'

describe('useTestDatabase with seed', () => {
  const db = useTestDatabase('mariadb', { seed: { counts: { books: 30 } } })

  it('hands the test a seeded database and the rows it holds', async () => {
    expect(db.dataset).toEqual(generateDataset({ counts: { books: 30 } }))
    await using connection = await connect(db.url)
    const [row] = await connection.query<{ n: number }>('SELECT count(*) AS n FROM books')
    expect(Number(row?.n)).toBe(30)
  })
})

describe('useTestDatabase without seed', () => {
  const db = useTestDatabase('postgres')

  it('hands the test an empty database with the schema', async () => {
    expect(db.url).not.toBe(databaseUrls.postgres)
    await using connection = await connect(db.url)
    expect(await connection.query('SELECT * FROM books')).toEqual([])
  })
})

describe('useTestDatabase before its hook ran', () => {
  // The describe body runs while vitest collects tests, before any beforeAll.
  const early = useTestDatabase('postgres')
  let message = ''
  try {
    void early.url
  } catch (error) {
    message = (error as Error).message
  }

  it('explains that the database exists only inside tests and hooks', () => {
    expect(message).toMatch(/only inside tests and hooks, after beforeAll has run/)
    expect(early.url).toMatch(/\/by_/)
  })
})
