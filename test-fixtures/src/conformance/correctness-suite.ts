/**
 * Correctness against the reference query: for each query shape both ORMs can spell (orders over
 * root columns with NULLs, ties, mixed directions and explicit NULL placement; composite, UUID and
 * hostile string primary keys; to-one, to-many and many-to-many relations loaded with the entities;
 * an empty result), the concatenated batches of `aiterator` equal the reference query ordered as
 * `aiterator` orders (the primary key appended in the last term's direction): the same entities with
 * the same values, in the same order, each once, in batches full except the last; for chunks smaller,
 * equal and larger than batches, batches of 1 and batches larger than the table; and one entity at a
 * time without `batchYieldSize`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collect, expectBatches, expectSameEntities } from '#src/conformance/expect-entities'
import {
  type FixtureDriver,
  type FixtureOrm,
  type FixtureQuery,
  fixturePrimaryKeys,
  withPrimaryKey,
} from '#src/conformance/fixture-driver'
import { useTestDatabase } from '#src/vitest'

const asc = 'asc' as const
const desc = 'desc' as const

/** The shapes. Each one's reference must be non-empty but the last. */
export const correctnessCases: readonly { readonly name: string; readonly query: FixtureQuery }[] = [
  { name: 'books, no order (the primary key)', query: { table: 'books' } },
  {
    name: 'books by a nullable timestamp ASC, database NULL placement',
    query: {
      table: 'books',
      orderBy: [
        { column: 'published_at', direction: asc },
        { column: 'id', direction: asc },
      ],
    },
  },
  {
    name: 'books by a nullable timestamp DESC, database NULL placement',
    query: {
      table: 'books',
      orderBy: [
        { column: 'published_at', direction: desc },
        { column: 'id', direction: desc },
      ],
    },
  },
  {
    name: 'books by a nullable timestamp ASC alone',
    query: { table: 'books', orderBy: [{ column: 'published_at', direction: asc }] },
  },
  {
    name: 'books by a nullable timestamp DESC alone',
    query: { table: 'books', orderBy: [{ column: 'published_at', direction: desc }] },
  },
  {
    name: 'books by a nullable timestamp ASC NULLS FIRST alone',
    query: { table: 'books', orderBy: [{ column: 'published_at', direction: asc, nulls: 'first' }] },
  },
  {
    name: 'books by a nullable timestamp DESC NULLS LAST alone',
    query: { table: 'books', orderBy: [{ column: 'published_at', direction: desc, nulls: 'last' }] },
  },
  {
    name: 'books by a nullable timestamp ASC NULLS FIRST, id DESC',
    query: {
      table: 'books',
      orderBy: [
        { column: 'published_at', direction: asc, nulls: 'first' },
        { column: 'id', direction: desc },
      ],
    },
  },
  {
    name: 'books by a nullable timestamp DESC NULLS LAST, id ASC',
    query: {
      table: 'books',
      orderBy: [
        { column: 'published_at', direction: desc, nulls: 'last' },
        { column: 'id', direction: asc },
      ],
    },
  },
  {
    name: 'books by a non-unique column DESC (the primary key appended DESC)',
    query: { table: 'books', orderBy: [{ column: 'rating', direction: desc }] },
  },
  {
    name: 'books by mixed directions over non-unique and nullable columns, then id',
    query: {
      table: 'books',
      orderBy: [
        { column: 'rating', direction: desc },
        { column: 'published_at', direction: asc },
        { column: 'id', direction: asc },
      ],
    },
  },
  {
    name: 'books by mixed directions over non-unique, nullable and decimal columns',
    query: {
      table: 'books',
      orderBy: [
        { column: 'rating', direction: asc },
        { column: 'published_at', direction: desc },
        { column: 'price', direction: desc },
      ],
    },
  },
  { name: 'books by the primary key DESC', query: { table: 'books', orderBy: [{ column: 'id', direction: desc }] } },
  {
    name: 'books with their author (to-one), by a nullable timestamp',
    query: {
      table: 'books',
      include: 'author',
      orderBy: [
        { column: 'published_at', direction: desc },
        { column: 'id', direction: desc },
      ],
    },
  },
  {
    name: 'books with their author (to-one), by a non-unique text column',
    query: { table: 'books', include: 'author', orderBy: [{ column: 'title', direction: asc }] },
  },
  {
    name: 'books with their tags (many-to-many), by a non-unique column',
    query: {
      table: 'books',
      include: 'tags',
      orderBy: [
        { column: 'rating', direction: desc },
        { column: 'id', direction: desc },
      ],
    },
  },
  {
    name: 'books with their tags (many-to-many), by the primary key',
    query: { table: 'books', include: 'tags', orderBy: [{ column: 'id', direction: asc }] },
  },
  {
    name: 'authors with their books (one-to-many: entities never split)',
    query: {
      table: 'authors',
      include: 'books',
      orderBy: [
        { column: 'created_at', direction: desc },
        { column: 'id', direction: asc },
      ],
    },
  },
  {
    name: 'authors with their books, no order',
    query: { table: 'authors', include: 'books', orderBy: [{ column: 'id', direction: asc }] },
  },
  { name: 'composite primary key, no order', query: { table: 'order_lines' } },
  {
    name: 'composite primary key, after a non-unique column',
    query: { table: 'order_lines', orderBy: [{ column: 'quantity', direction: desc }] },
  },
  {
    name: 'composite primary key, by its second part',
    query: { table: 'order_lines', orderBy: [{ column: 'line_no', direction: desc }] },
  },
  {
    name: 'composite primary key, mixed directions',
    query: {
      table: 'order_lines',
      orderBy: [
        { column: 'order_id', direction: desc },
        { column: 'line_no', direction: asc },
      ],
    },
  },
  { name: 'UUID primary key, no order', query: { table: 'devices' } },
  {
    name: 'UUID primary key, after a nullable timestamp DESC',
    query: { table: 'devices', orderBy: [{ column: 'registered_at', direction: desc }] },
  },
  {
    name: 'UUID primary key, after a nullable timestamp ASC',
    query: {
      table: 'devices',
      orderBy: [
        { column: 'registered_at', direction: asc },
        { column: 'id', direction: asc },
      ],
    },
  },
  { name: 'string primary key with hostile values, no order', query: { table: 'countries' } },
  {
    name: 'string primary key with hostile values, DESC',
    query: { table: 'countries', orderBy: [{ column: 'code', direction: desc }] },
  },
  {
    name: 'a bigint column, then the string primary key',
    query: { table: 'countries', orderBy: [{ column: 'population', direction: desc }] },
  },
  {
    name: 'a bigint column, then the string primary key ASC',
    query: {
      table: 'countries',
      orderBy: [
        { column: 'population', direction: desc },
        { column: 'code', direction: asc },
      ],
    },
  },
  { name: 'empty result', query: { table: 'books', whereIn: { column: 'rating', values: [99] } } },
]

/** chunkSize smaller, equal and larger than batchYieldSize; batches of 1; a batch larger than the table. */
export const correctnessSizes = [
  { batchYieldSize: 50, chunkSize: 17 },
  { batchYieldSize: 32, chunkSize: 32 },
  { batchYieldSize: 7, chunkSize: 100 },
  { batchYieldSize: 1, chunkSize: 3 },
  { batchYieldSize: 100_000, chunkSize: 2000 },
] as const

/**
 * Whether the query's own order is total (no order, or one that includes the whole primary key): only
 * then is the cursor strategy's order, which is the query's, the reference's. (Keyset appends the key.)
 */
export function isTotalOrder(query: FixtureQuery): boolean {
  const columns = new Set((query.orderBy ?? []).map((term) => term.column))
  return query.orderBy === undefined || fixturePrimaryKeys[query.table].every((column) => columns.has(column))
}

/** Registers the correctness scenario for `driver` on a seeded database. */
export function defineCorrectnessSuite(driver: FixtureDriver): void {
  const { dialect } = driver
  const db = useTestDatabase(dialect, { seed: true })
  let orm: FixtureOrm
  beforeAll(async () => {
    orm = await driver.open(db.url)
  })
  afterAll(async () => {
    await orm?.close()
  })

  it('the fixture data has what the shapes rely on: NULL timestamps, ties, hostile string keys', () => {
    const { books, devices, countries } = db.dataset
    expect(books.some((book) => book.published_at === null)).toBe(true)
    expect(devices.some((device) => device.registered_at === null)).toBe(true)
    expect(new Set(books.map((book) => book.rating)).size).toBeLessThan(books.length)
    expect(countries.some((country) => country.code.includes("'"))).toBe(true)
  })

  for (const { name, query } of correctnessCases) {
    describe(name, () => {
      let expected: object[]
      beforeAll(async () => {
        expected = await orm.find(withPrimaryKey(query))
        if (name !== 'empty result') expect(expected.length).toBeGreaterThan(0)
      })
      const strategies =
        dialect === 'postgres' && isTotalOrder(query) ? (['keyset', 'cursor'] as const) : (['keyset'] as const)
      for (const strategy of strategies) {
        it.each(correctnessSizes)(
          `${strategy}: batchYieldSize $batchYieldSize, chunkSize $chunkSize`,
          async (sizes) => {
            const batches = (await collect(orm.aiterator(query, { ...sizes, strategy }))) as object[][]
            expectBatches(orm, batches, expected, sizes.batchYieldSize)
            orm.checkAfterRun?.()
          },
        )
      }
      it('auto, one entity at a time (no batchYieldSize)', async () => {
        const items = await collect(orm.aiterator(query, { chunkSize: 64 }))
        expect(items.every((item) => !Array.isArray(item))).toBe(true)
        expectSameEntities(orm, items as object[], expected)
        orm.checkAfterRun?.()
      })
    })
  }
}
