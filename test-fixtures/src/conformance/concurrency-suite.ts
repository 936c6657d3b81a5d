/**
 * Concurrency: what a run yields while another session writes, and many runs sharing a small pool.
 * Keyset (one query per chunk, `prefetch: 0` so each chunk is read when needed): every row that
 * exists for the whole run and keeps its sort key is yielded exactly once, in order; rows inserted
 * ahead of the position are yielded, behind it not; rows deleted before they are reached are not; a
 * changed non-sort column is seen if the row is reached after the change; a row whose sort key moves
 * ahead is yielded again (with its new value), one moving behind is missed (the documented keyset
 * semantics). Cursor (PostgreSQL): the run reads the snapshot taken when it started. Many runs at
 * once on a pool of two or five all finish with the reference's entities; on a pool of one the loop
 * body can query and run another keyset loop. Afterwards the pool is idle and nothing is in a transaction.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { withConnection } from '#src/connection'
import { collect, expectSameEntities } from '#src/conformance/expect-entities'
import { type FixtureDriver, type FixtureOrm, type FixtureQuery, withPrimaryKey } from '#src/conformance/fixture-driver'
import { expectSettled } from '#src/conformance/settled'
import { useTestDatabase } from '#src/vitest'

/** Books by publication, newest first: on PostgreSQL NULLs come first, on MariaDB last. */
const byPublished: FixtureQuery = {
  table: 'books',
  orderBy: [
    { column: 'published_at', direction: 'desc' },
    { column: 'id', direction: 'desc' },
  ],
}

/** Registers the concurrency scenario for `driver` on a seeded database. */
export function defineConcurrencySuite(driver: FixtureDriver): void {
  const { dialect } = driver
  const db = useTestDatabase(dialect, { seed: true })
  const p = (n: number): string => (dialect === 'postgres' ? `$${n}` : '?')
  /** Another session writes (autocommit) while the iteration runs. */
  const write = (sql: string, params: unknown[] = []) => withConnection(db.url, (c) => c.query(sql, params))
  const insertBook = async (title: string, publishedAt: string, rating = 1): Promise<number> => {
    await write(
      `INSERT INTO books (author_id, title, published_at, price, rating) VALUES (1, ${p(1)}, ${p(2)}, 1, ${p(3)})`,
      [title, publishedAt, rating],
    )
    const [row] = await write(`SELECT id FROM books WHERE title = ${p(1)}`, [title])
    return Number((row as { id: number | string }).id)
  }
  const deleteBooks = async (ids: readonly number[]) => {
    for (const id of ids) {
      await write(`DELETE FROM book_tags WHERE book_id = ${p(1)}`, [id])
      await write(`DELETE FROM books WHERE id = ${p(1)}`, [id])
    }
  }
  let orm: FixtureOrm
  beforeAll(async () => {
    orm = await driver.open(db.url, { poolSize: 5 })
  })
  afterAll(async () => {
    await orm?.close()
  })
  const idOf = (book: object): number => Number(orm.valueOf(book, 'id'))

  describe('keyset while another session writes', () => {
    it('inserts, deletes, updates and moved sort keys each give the documented outcome', async () => {
      const before = (await orm.find(byPublished)).map(idOf)
      expect(before.length).toBeGreaterThan(360)
      const seen: number[] = []
      const titles = new Map<number, string>()
      const published = new Map<number, unknown[]>()
      const changed: Record<string, number> = {}
      for await (const batch of orm.aiterator(byPublished, {
        batchYieldSize: 20,
        chunkSize: 20,
        prefetch: 0,
        strategy: 'keyset',
      })) {
        for (const book of batch as object[]) {
          seen.push(idOf(book))
          titles.set(idOf(book), orm.valueOf(book, 'title') as string)
          published.set(idOf(book), [...(published.get(idOf(book)) ?? []), orm.valueOf(book, 'published_at')])
        }
        if (seen.length !== 100) continue
        // DESC order: an earlier published_at is ahead of the position, a later one behind
        changed.insertedAhead = await insertBook('inserted ahead', '1900-06-01 12:00:00')
        changed.insertedBehind = await insertBook('inserted behind', '2100-06-01 12:00:00')
        ;[changed.deletedBehind, changed.deletedBehind2, changed.deletedAhead, changed.deletedAhead2] = [
          before[20]!,
          before[95]!,
          before[250]!,
          before[330]!,
        ]
        await deleteBooks([changed.deletedBehind, changed.deletedBehind2, changed.deletedAhead, changed.deletedAhead2])
        ;[changed.updatedBehind, changed.updatedAhead] = [before[50]!, before[300]!]
        for (const id of [changed.updatedBehind, changed.updatedAhead])
          await write(`UPDATE books SET title = 'updated during the run' WHERE id = ${p(1)}`, [id])
        changed.movedBehind = before[200]! // not reached yet: moves behind the position
        changed.movedAhead = before[10]! // already seen: moves ahead of the position
        changed.movedFurther = before[150]! // not reached yet: moves further ahead
        await write(`UPDATE books SET published_at = '2101-06-01 12:00:00' WHERE id = ${p(1)}`, [changed.movedBehind])
        await write(`UPDATE books SET published_at = '1800-06-01 12:00:00' WHERE id = ${p(1)}`, [changed.movedAhead])
        await write(`UPDATE books SET published_at = '1850-06-01 12:00:00' WHERE id = ${p(1)}`, [changed.movedFurther])
      }
      const count = (id: number) => seen.filter((s) => s === id).length
      const year = (value: unknown) =>
        value instanceof Date ? value.getUTCFullYear() : Number(String(value).slice(0, 4))
      expect(count(changed.insertedAhead!)).toBe(1)
      expect(count(changed.insertedBehind!)).toBe(0)
      expect(count(changed.deletedAhead!) + count(changed.deletedAhead2!)).toBe(0)
      expect(count(changed.deletedBehind!) + count(changed.deletedBehind2!)).toBe(2) // yielded before they were deleted
      expect(titles.get(changed.updatedAhead!)).toBe('updated during the run')
      expect(titles.get(changed.updatedBehind!)).not.toBe('updated during the run')
      expect(count(changed.movedBehind!)).toBe(0)
      expect(count(changed.movedAhead!)).toBe(2)
      expect(year(published.get(changed.movedAhead!)![1])).toBe(1800) // yielded again, with its new value
      expect(count(changed.movedFurther!)).toBe(1)
      expect(year(published.get(changed.movedFurther!)![0])).toBe(1850)
      expect(seen.filter((id) => id !== changed.movedAhead)).toEqual([
        ...new Set(seen.filter((id) => id !== changed.movedAhead)),
      ]) // nothing else twice
      const moved = [changed.movedAhead, changed.movedBehind, changed.movedFurther]
      const throughout = before.filter(
        (id) =>
          ![
            changed.deletedAhead,
            changed.deletedAhead2,
            changed.deletedBehind,
            changed.deletedBehind2,
            ...moved,
          ].includes(id),
      )
      expect(seen.filter((id) => throughout.includes(id))).toEqual(throughout) // every row there for the whole run, once, in order
      await expectSettled(orm, db.url)
    })

    it('with the primary key descending, a new row (the highest id) is behind the position and is not yielded', async () => {
      const ids: number[] = []
      let inserted: number | undefined
      for await (const batch of orm.aiterator(
        { table: 'books', orderBy: [{ column: 'id', direction: 'desc' }] },
        { chunkSize: 25, batchYieldSize: 25, prefetch: 0, strategy: 'keyset' },
      )) {
        ids.push(...(batch as object[]).map(idOf))
        inserted ??= await insertBook('inserted behind the primary key', '2000-06-01 12:00:00', 3)
      }
      expect(ids).not.toContain(inserted)
      expect(new Set(ids).size).toBe(ids.length)
      await expectSettled(orm, db.url)
    })
  })

  if (dialect === 'postgres') {
    it('cursor: the run reads the snapshot taken when it started', async () => {
      const before = await orm.find(byPublished)
      const seen: object[] = []
      let wrote = false
      for await (const batch of orm.aiterator(byPublished, { batchYieldSize: 25, chunkSize: 10, strategy: 'cursor' })) {
        seen.push(...(batch as object[]))
        if (wrote) continue
        wrote = true
        await deleteBooks(before.slice(-30).map(idOf))
        for (let i = 0; i < 10; i++) await insertBook(`new ${i}`, '2099-06-01 12:00:00', 2)
        await write("UPDATE books SET title = 'changed' WHERE id = $1", [idOf(before[100]!)])
      }
      expectSameEntities(orm, seen, before)
      expect((await orm.find(byPublished)).map(idOf)).not.toEqual(before.map(idOf))
      await expectSettled(orm, db.url)
    })
  }

  describe('many runs at once', () => {
    it('fifty keyset runs at once on a pool of five all finish with the reference', async () => {
      const query: FixtureQuery = {
        table: 'books',
        include: 'author',
        orderBy: [{ column: 'rating', direction: 'desc' }],
      }
      const expected = (await orm.find(withPrimaryKey(query))).slice(0, 60)
      const runs = Array.from({ length: 50 }, (_, i) =>
        collect(
          orm.aiterator(query, { batchYieldSize: 5 + (i % 7), chunkSize: 9 + (i % 5), limit: 60, strategy: 'keyset' }),
        ),
      )
      for (const batches of await Promise.all(runs)) expectSameEntities(orm, (batches as object[][]).flat(), expected)
      await expectSettled(orm, db.url)
    })

    it(`ten runs at once (${dialect === 'postgres' ? 'keyset and cursor' : 'keyset'}) on a pool of five finish with the reference`, async () => {
      const queries: readonly FixtureQuery[] = [
        { table: 'books', include: 'tags', orderBy: [{ column: 'id', direction: 'asc' }] },
        { table: 'authors', include: 'books', orderBy: [{ column: 'id', direction: 'asc' }] },
        {
          table: 'order_lines',
          orderBy: [
            { column: 'order_id', direction: 'asc' },
            { column: 'line_no', direction: 'asc' },
          ],
        },
        {
          table: 'books',
          orderBy: [
            { column: 'rating', direction: 'asc' },
            { column: 'id', direction: 'asc' },
          ],
        },
        { table: 'countries', orderBy: [{ column: 'code', direction: 'desc' }] },
      ]
      const strategies = dialect === 'postgres' ? (['keyset', 'cursor'] as const) : (['keyset'] as const)
      const runs = [...queries, ...queries].map(async (query, i) => {
        const expected = await orm.find(withPrimaryKey(query))
        const batches = await collect(
          orm.aiterator(query, {
            batchYieldSize: 7 + i,
            chunkSize: 11 + i,
            strategy: strategies[i % strategies.length],
          }),
        )
        expectSameEntities(orm, (batches as object[][]).flat(), expected)
      })
      await Promise.all(runs)
      await expectSettled(orm, db.url)
    })

    if (dialect === 'postgres') {
      it('four cursor runs at once on a pool of two: the later ones wait for a connection, none deadlocks, all read every row', async () => {
        const two = await driver.open(db.url, { poolSize: 2 })
        try {
          const query: FixtureQuery = {
            table: 'books',
            include: 'author',
            orderBy: [{ column: 'id', direction: 'asc' }],
          }
          const expected = await two.find(query)
          const run = async () =>
            (
              (await collect(
                two.aiterator(query, { strategy: 'cursor', chunkSize: 25, batchYieldSize: 25 }),
              )) as object[][]
            ).flat()
          for (const rows of await within(
            30_000,
            Promise.all([run(), run(), run(), run()]),
            'four cursor runs on a pool of two',
          ))
            expectSameEntities(two, rows, expected)
          await expectSettled(two, db.url)
        } finally {
          await two.close()
        }
      })
    }

    it('on a pool of one, the loop body can query and run another keyset loop', async () => {
      const one = await driver.open(db.url, { poolSize: 1 })
      try {
        const expected = await one.find(withPrimaryKey({ table: 'books' }))
        const seen: object[] = []
        await within(
          20_000,
          (async () => {
            for await (const batch of one.aiterator({ table: 'books' }, { batchYieldSize: 100, strategy: 'keyset' })) {
              seen.push(...(batch as object[]))
              expect((await one.find({ table: 'countries' })).length).toBeGreaterThan(0)
              const inner = (
                (await collect(
                  one.aiterator({ table: 'books' }, { batchYieldSize: 3, limit: 6, strategy: 'keyset' }),
                )) as object[][]
              ).flat()
              expectSameEntities(one, inner, expected.slice(0, 6))
            }
          })(),
          'a keyset loop with queries in its body on a pool of one',
        )
        expectSameEntities(one, seen, expected)
        await expectSettled(one, db.url)
      } finally {
        await one.close()
      }
    })
  })
}

/** Rejects when `promise` takes longer than `ms`: a deadlock becomes a clear failure, not a test timeout. */
async function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}
