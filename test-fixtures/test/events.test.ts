import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  connect,
  createTestDatabase,
  dialects,
  eventRow,
  eventValues,
  seedEvents,
  type TestDatabase,
} from '@batchyield/test-fixtures'
import { readTable } from './read-table.ts'

describe('eventRow', () => {
  it('is a pure function of the id', () => {
    expect(eventRow(42)).toEqual(eventRow(42))
    expect(eventRow(42)).not.toEqual(eventRow(43))
  })

  it('spreads the columns over their value lists and makes occurred_at ties', () => {
    const rows = Array.from({ length: 3000 }, (_, i) => eventRow(i + 1))
    expect(new Set(rows.map((row) => row.kind))).toEqual(new Set(eventValues.kinds))
    expect(new Set(rows.map((row) => row.source))).toEqual(new Set(eventValues.sources))
    expect(new Set(rows.map((row) => row.country))).toEqual(new Set(eventValues.countries))
    expect(rows.some((row) => row.is_test)).toBe(true)
    expect(rows.some((row) => !row.is_test)).toBe(true)
    const times = rows.map((row) => row.occurred_at.getTime())
    expect(new Set(times).size).toBeLessThan(times.length)
    expect(new Set(rows.map((row) => row.session_id)).size).toBe(Math.floor(3000 / 25) + 1)
  })

  it('rejects ids outside 1..10000000', () => {
    expect(() => eventRow(0)).toThrow(/event id must be an integer in 1\.\.10000000, received 0/)
    expect(() => eventRow(1.5)).toThrow(RangeError)
    expect(() => eventRow(10_000_001)).toThrow(RangeError)
    expect(eventRow(10_000_000).id).toBe(10_000_000)
  })
})

describe.each(dialects)('seedEvents on %s', (dialect) => {
  let db: TestDatabase
  beforeAll(async () => {
    db = await createTestDatabase({ dialect })
  })
  afterAll(async () => {
    await db?.drop()
  })

  it('generates on the server, chunk by chunk, exactly the rows eventRow() specifies', async () => {
    const progress: number[] = []
    const range = await seedEvents(db.url, 2_345, {
      chunkSize: 1_000,
      onProgress: (inserted) => progress.push(inserted),
    })
    expect(range).toEqual({ firstId: 1, lastId: 2_345 })
    expect(progress).toEqual([1_000, 2_000, 2_345])
    const expected = Array.from({ length: 2_345 }, (_, i) => eventRow(i + 1))
    expect(await readTable(db.url, 'events')).toEqual(expected)
  })

  it('appends after the highest id with append, and starts over without it', async () => {
    await seedEvents(db.url, 10)
    expect(await seedEvents(db.url, 5, { append: true })).toEqual({ firstId: 11, lastId: 15 })
    const rows = await readTable(db.url, 'events')
    expect(rows).toEqual(Array.from({ length: 15 }, (_, i) => eventRow(i + 1)))
  })

  it('matches eventRow() at the top of the id range, where the hashes are largest', async () => {
    await seedEvents(db.url, 0)
    const row = eventRow(9_999_990)
    await using connection = await connect(db.url)
    const marks =
      dialect === 'postgres'
        ? '$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12'
        : '?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?'
    await connection.query(
      `INSERT INTO events (id, occurred_at, kind, user_id, session_id, source, country, amount, quantity, is_test, tags, payload)
       VALUES (${marks})`,
      [
        row.id,
        row.occurred_at,
        row.kind,
        row.user_id,
        row.session_id,
        row.source,
        row.country,
        row.amount,
        row.quantity,
        row.is_test,
        row.tags,
        JSON.stringify(row.payload),
      ],
    )
    expect(await seedEvents(db.url, 10, { append: true })).toEqual({ firstId: 9_999_991, lastId: 10_000_000 })
    await expect(seedEvents(db.url, 1, { append: true })).rejects.toThrow(
      /events ids stop at 10000000; this seed would reach 10000001/,
    )
    expect(await readTable(db.url, 'events')).toEqual(Array.from({ length: 11 }, (_, i) => eventRow(9_999_990 + i)))
  })

  it('leaves the id sequence past the rows so inserts without an id follow on', async () => {
    await seedEvents(db.url, 3)
    const row = eventRow(1)
    await using connection = await connect(db.url)
    const marks =
      dialect === 'postgres' ? '$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11' : '?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?'
    const [inserted] = await connection.query<{ id: string | number }>(
      `INSERT INTO events (occurred_at, kind, user_id, session_id, source, country, amount, quantity, is_test, tags, payload)
       VALUES (${marks}) RETURNING id`,
      [
        row.occurred_at,
        row.kind,
        row.user_id,
        row.session_id,
        row.source,
        row.country,
        row.amount,
        row.quantity,
        row.is_test,
        row.tags,
        JSON.stringify(row.payload),
      ],
    )
    expect(Number(inserted?.id)).toBe(4)
  })

  it('rejects a bad row count or chunk size before touching the table', async () => {
    await seedEvents(db.url, 4)
    await expect(seedEvents(db.url, -1)).rejects.toThrow(/rows must be an integer in 0\.\.10000000, received -1/)
    await expect(seedEvents(db.url, 10, { chunkSize: 0 })).rejects.toThrow(
      /chunkSize must be an integer in 1\.\.100000, received 0/,
    )
    expect(await readTable(db.url, 'events')).toHaveLength(4)
  })
})
