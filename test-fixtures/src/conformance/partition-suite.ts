/**
 * Partitioned scans: `partitions()` splits a query into contiguous ranges of its keyset ordering, and
 * `aiterator({ partition })` in another ORM instance ("another process") iterates one range. Over random
 * data with repeated sort keys and NULLs, for every ordering shape keyset supports and every method the
 * adapter offers, the partitions read in order are exactly the reference query: every row once, each
 * partition in order. Descriptors survive JSON and are refused, before any statement, for another
 * ordering, table or condition, or when altered. A partition resumed with `after` stays inside its
 * bounds; `from`/`to` take resume tokens and key values.
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collect, expectSameEntities } from '#src/conformance/expect-entities'
import {
  type FixtureDriver,
  type FixtureOrm,
  type FixtureQuery,
  type PartitionMethodName,
  withPrimaryKey,
} from '#src/conformance/fixture-driver'
import type { Dialect } from '#src/dialect'
import { seed } from '#src/seed'
import { useTestDatabase } from '#src/vitest'

/**
 * The ordering shapes of the property: nullable timestamps both ways (and NULL placement written out,
 * where the database can), mixed directions over a nullable middle key, the primary key alone, a
 * condition, a to-many relation, a composite primary key, UUID keys and hostile string keys.
 */
export function partitionShapes(dialect: Dialect): readonly { readonly name: string; readonly query: FixtureQuery }[] {
  return [
    {
      name: 'books by a nullable timestamp ASC',
      query: { table: 'books', orderBy: [{ column: 'published_at', direction: 'asc' }] },
    },
    {
      name: 'books by a nullable timestamp DESC',
      query: { table: 'books', orderBy: [{ column: 'published_at', direction: 'desc' }] },
    },
    ...(dialect === 'postgres'
      ? [
          {
            name: 'books by a nullable timestamp ASC NULLS FIRST',
            query: { table: 'books', orderBy: [{ column: 'published_at', direction: 'asc', nulls: 'first' }] },
          } as const,
          {
            name: 'books by a nullable timestamp DESC NULLS LAST',
            query: { table: 'books', orderBy: [{ column: 'published_at', direction: 'desc', nulls: 'last' }] },
          } as const,
        ]
      : []),
    {
      name: 'books by rating DESC, then a nullable timestamp ASC',
      query: {
        table: 'books',
        orderBy: [
          { column: 'rating', direction: 'desc' },
          { column: 'published_at', direction: 'asc' },
        ],
      },
    },
    {
      name: 'books by primary key, with a condition',
      query: { table: 'books', whereIn: { column: 'rating', values: [1, 3, 4] } },
    },
    {
      name: 'books with their author (to-one), by a nullable timestamp DESC',
      query: { table: 'books', include: 'author', orderBy: [{ column: 'published_at', direction: 'desc' }] },
    },
    {
      name: 'authors with their books (to-many)',
      query: {
        table: 'authors',
        include: 'books',
        orderBy: [
          { column: 'created_at', direction: 'desc' },
          { column: 'id', direction: 'desc' },
        ],
      },
    },
    {
      name: 'order lines by quantity (composite primary key)',
      query: { table: 'order_lines', orderBy: [{ column: 'quantity', direction: 'asc' }] },
    },
    {
      name: 'devices by a nullable timestamp DESC (UUID primary key)',
      query: { table: 'devices', orderBy: [{ column: 'registered_at', direction: 'desc' }] },
    },
    { name: 'devices by UUID primary key', query: { table: 'devices' } },
    {
      name: 'countries by hostile string primary key DESC',
      query: { table: 'countries', orderBy: [{ column: 'code', direction: 'desc' }] },
    },
    {
      name: 'countries by a bigint DESC',
      query: { table: 'countries', orderBy: [{ column: 'population', direction: 'desc' }] },
    },
  ]
}

/** Random fixture data: the seeded generator's rows (a tenth of the books and a fifth of the devices have NULL timestamps; days, ratings and quantities repeat). */
const randomData = fc.record({
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  books: fc.integer({ min: 0, max: 160 }),
  authors: fc.integer({ min: 1, max: 12 }),
  orderLines: fc.integer({ min: 0, max: 90 }),
  devices: fc.integer({ min: 0, max: 60 }),
  countries: fc.integer({ min: 0, max: 60 }),
})
type RandomData = typeof randomData extends fc.Arbitrary<infer T> ? T : never

const reseed = (url: string, data: RandomData) =>
  seed(url, {
    seed: data.seed,
    counts: {
      books: data.books,
      authors: data.authors,
      orderLines: data.orderLines,
      devices: data.devices,
      countries: data.countries,
      tags: 3,
    },
  })

/** Registers the partition scenario for `driver` (which must offer `partitions()`, `partitionMethods` and `InvalidPartitionError`). */
export function definePartitionSuite(driver: FixtureDriver): void {
  const { dialect, errors } = driver
  const methods = driver.partitionMethods ?? []
  const db = useTestDatabase(dialect, { seed: true })
  let orm: FixtureOrm
  let worker: FixtureOrm
  beforeAll(async () => {
    orm = await driver.open(db.url)
    worker = await driver.open(db.url) // "another process": a separate ORM instance
  })
  afterAll(async () => {
    await orm?.close()
    await worker?.close()
  })

  const partitionsOf = (query: FixtureQuery, count: number, method?: PartitionMethodName) => {
    if (orm.partitions === undefined) throw new Error(`${driver.adapter}'s fixture driver has no partitions()`)
    return orm.partitions(query, count, method === undefined ? {} : { method })
  }
  /** Each partition read to the end in the worker, after a JSON round trip, concatenated in partition order. */
  const readAll = async (
    query: FixtureQuery,
    parts: readonly unknown[],
    sizes: { chunkSize: number; batchYieldSize: number },
  ) => {
    const seen: object[] = []
    for (const part of parts) {
      const batches = (await collect(
        worker.aiterator(query, { ...sizes, partition: JSON.parse(JSON.stringify(part)) as unknown }),
      )) as object[][]
      seen.push(...batches.flat())
    }
    return seen
  }

  it('the adapter offers partitions() and names its methods', () => {
    expect(methods.length).toBeGreaterThan(0)
    expect(errors.InvalidPartitionError).toBeDefined()
  })

  describe.each(partitionShapes(dialect))('every row in exactly one partition: $name', ({ query }) => {
    it(`random data, random N, every method (${methods.join(', ')}): the partitions in order are the reference query, each row once`, async () => {
      await fc.assert(
        fc.asyncProperty(
          randomData,
          fc.integer({ min: 1, max: 9 }),
          fc.integer({ min: 1, max: 7 }),
          fc.integer({ min: 1, max: 5 }),
          async (data, count, chunkSize, batchYieldSize) => {
            await reseed(db.url, data)
            const expected = await orm.find(withPrimaryKey(query))
            for (const method of methods) {
              const parts = await partitionsOf(query, count, method)
              expect(parts.length, `method ${method}`).toBeGreaterThanOrEqual(1)
              expect(parts.length, `method ${method}`).toBeLessThanOrEqual(count)
              expectSameEntities(orm, await readAll(query, parts, { chunkSize, batchYieldSize }), expected)
            }
          },
        ),
        {
          numRuns: 4,
          // first: more partitions than rows; then a single partition; then an empty table
          examples: [
            [{ seed: 7, books: 5, authors: 2, orderLines: 3, devices: 4, countries: 5 }, 9, 1, 1],
            [{ seed: 8, books: 60, authors: 5, orderLines: 40, devices: 30, countries: 40 }, 1, 7, 3],
            [{ seed: 9, books: 0, authors: 1, orderLines: 0, devices: 0, countries: 0 }, 4, 2, 2],
          ],
        },
      )
    })
  })

  describe('on the fixture data', () => {
    beforeAll(async () => {
      await seed(db.url) // the default data set again, after the property's random ones
    })
    const byDate: FixtureQuery = { table: 'books', orderBy: [{ column: 'published_at', direction: 'desc' }] }

    it.each(methods)(
      '%s: four partitions of 400 books are about equal (statistics decide only the balance)',
      async (method) => {
        const byId: FixtureQuery = { table: 'books' }
        const parts = await partitionsOf(byId, 4, method)
        expect(parts).toHaveLength(4)
        const sizes = await Promise.all(
          parts.map(
            async (part) =>
              ((await collect(worker.aiterator(byId, { batchYieldSize: 1000, partition: part }))) as object[][]).flat()
                .length,
          ),
        )
        expect(sizes.reduce((a, b) => a + b)).toBe(400)
        expect(Math.min(...sizes)).toBeGreaterThanOrEqual(60)
        expect(Math.max(...sizes)).toBeLessThanOrEqual(140)
      },
    )

    it('a descriptor is refused at the call, before any statement, for another ordering, table or condition', async () => {
      const parts = await partitionsOf(byDate, 3)
      expect(parts).toHaveLength(3)
      const part = JSON.parse(JSON.stringify(parts[1])) as unknown
      const before = orm.statements()
      const refused = (query: FixtureQuery) =>
        expect(() => orm.aiterator(query, { partition: part }), JSON.stringify(query)).toThrow(
          errors.InvalidPartitionError!,
        )
      refused({ table: 'books', orderBy: [{ column: 'published_at', direction: 'asc' }] })
      refused({ table: 'books', orderBy: [{ column: 'rating', direction: 'desc' }] })
      refused({ table: 'devices', orderBy: [{ column: 'registered_at', direction: 'desc' }] })
      refused({ ...byDate, whereIn: { column: 'rating', values: [5] } })
      expect(() => orm.aiterator(byDate, { partition: part })).not.toThrow()
      expect(orm.statements()).toBe(before)
    })

    it('an altered or cut descriptor is refused, naming what is wrong', async () => {
      const [first, second] = (await partitionsOf(byDate, 2)) as Record<string, unknown>[]
      const altered = (change: (d: Record<string, unknown>) => void) => {
        const d = JSON.parse(JSON.stringify(second)) as Record<string, unknown>
        change(d)
        return () => orm.aiterator(byDate, { partition: d })
      }
      expect(altered((d) => (d.from = null))).toThrow(/damaged/)
      expect(altered((d) => (d.to = first!.from))).not.toThrow() // both null: nothing changed
      expect(altered((d) => (d.from = { at: 'AQ' }))).toThrow(errors.InvalidPartitionError!)
      expect(altered((d) => delete d.check)).toThrow(errors.InvalidPartitionError!)
      expect(() => orm.aiterator(byDate, { partition: 'partition 1' })).toThrow(errors.InvalidPartitionError!)
    })

    it('partition works with the keyset strategy only, and is not combined with from/to', async () => {
      const [part] = await partitionsOf(byDate, 2)
      expect(() => orm.aiterator(byDate, { strategy: 'cursor', partition: part })).toThrow(TypeError)
      expect(() => orm.aiterator(byDate, { partition: part, from: [null] })).toThrow(/either partition or from\/to/)
    })

    it('a partition resumed with `after` in a new process ends where the partition ends', async () => {
      const parts = await partitionsOf(byDate, 3)
      const part = parts[1]
      const whole = (
        (await collect(orm.aiterator(byDate, { batchYieldSize: 1000, partition: part }))) as object[][]
      ).flat()
      expect(whole.length).toBeGreaterThan(30)
      let reported: string | undefined
      let saved: string | undefined
      const handled: object[] = []
      for await (const batch of orm.aiterator(byDate, {
        partition: part,
        batchYieldSize: 7,
        chunkSize: 5,
        onProgress: (p) => (reported = p.cursor),
      })) {
        handled.push(...(batch as object[]))
        saved = reported
        if (handled.length >= 21) break
      }
      const rest = (
        (await collect(
          worker.aiterator(byDate, {
            partition: JSON.parse(JSON.stringify(part)) as unknown,
            after: saved!,
            batchYieldSize: 4,
            chunkSize: 3,
          }),
        )) as object[][]
      ).flat()
      expectSameEntities(orm, [...handled, ...rest], whole)
    })

    it('from and to take resume tokens: the rows after the first token, up to and including the row of the second', async () => {
      const expected = await orm.find(withPrimaryKey(byDate))
      const tokens: string[] = []
      await collect(orm.aiterator(byDate, { batchYieldSize: 10, onProgress: (p) => void tokens.push(p.cursor!) }))
      const rows = (
        (await collect(orm.aiterator(byDate, { batchYieldSize: 10, from: tokens[3]!, to: tokens[9]! }))) as object[][]
      ).flat()
      expectSameEntities(orm, rows, expected.slice(40, 100))
    })

    it('from and to take values of the leading sort key: [from, to), with NULL as a value', async () => {
      // the direction that puts NULLs last: ASC on PostgreSQL, DESC on MariaDB
      const direction = dialect === 'postgres' ? 'asc' : 'desc'
      const query: FixtureQuery = { table: 'books', orderBy: [{ column: 'published_at', direction }] }
      const expected = await orm.find(withPrimaryKey(query))
      const timeOf = (book: object) => {
        const value = orm.valueOf(book, 'published_at')
        return value === null ? null : new Date(value as string | Date).getTime()
      }
      const [early, late] =
        direction === 'asc'
          ? [new Date('2024-02-01T00:00:00Z'), new Date('2024-04-01T00:00:00Z')]
          : [new Date('2024-04-01T00:00:00Z'), new Date('2024-02-01T00:00:00Z')]
      const between = (
        (await collect(orm.aiterator(query, { batchYieldSize: 50, from: [early], to: [late] }))) as object[][]
      ).flat()
      const inWindow = (t: number | null) =>
        t !== null &&
        (direction === 'asc' ? t >= early.getTime() && t < late.getTime() : t <= early.getTime() && t > late.getTime())
      expectSameEntities(
        orm,
        between,
        expected.filter((book) => inWindow(timeOf(book))),
      )
      expect(between.length).toBeGreaterThan(10)
      const nonNull = ((await collect(orm.aiterator(query, { batchYieldSize: 50, to: [null] }))) as object[][]).flat()
      expectSameEntities(
        orm,
        nonNull,
        expected.filter((book) => timeOf(book) !== null),
      )
      const nulls = ((await collect(orm.aiterator(query, { batchYieldSize: 50, from: [null] }))) as object[][]).flat()
      expectSameEntities(
        orm,
        nulls,
        expected.filter((book) => timeOf(book) === null),
      )
      expect(nulls.length).toBeGreaterThan(10)
    })
  })
}
