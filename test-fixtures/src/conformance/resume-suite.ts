/**
 * Resuming with `after`: a batch job crashes (or stops) after some batches; a new process (a freshly
 * opened ORM) passes the last `onProgress` cursor it saved, and the two runs together yield the
 * reference query's entities exactly once, in order. Every report's token points right after the last
 * entity reported, however the read-ahead stands. Tokens of another query, and damaged ones, are
 * refused at the call, before any statement; the cursor strategy has none.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collect, expectSameEntities } from '#src/conformance/expect-entities'
import {
  type FixtureDriver,
  type FixtureOrm,
  type FixtureQuery,
  type FixtureRunOptions,
  withPrimaryKey,
} from '#src/conformance/fixture-driver'
import { useTestDatabase } from '#src/vitest'

const crash = new Error('simulated crash')
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const cases: readonly { readonly name: string; readonly query: FixtureQuery }[] = [
  {
    name: 'books by a nullable timestamp DESC',
    query: { table: 'books', orderBy: [{ column: 'published_at', direction: 'desc' }] },
  },
  {
    name: 'books by a nullable timestamp ASC, crossing the NULLs',
    query: { table: 'books', orderBy: [{ column: 'published_at', direction: 'asc' }] },
  },
  {
    name: 'books with their author (to-one)',
    query: { table: 'books', include: 'author', orderBy: [{ column: 'published_at', direction: 'desc' }] },
  },
  {
    name: 'authors with their books (to-many)',
    query: {
      table: 'authors',
      include: 'books',
      orderBy: [
        { column: 'created_at', direction: 'asc' },
        { column: 'id', direction: 'asc' },
      ],
    },
  },
  {
    name: 'composite primary key, by a non-unique column',
    query: { table: 'order_lines', orderBy: [{ column: 'quantity', direction: 'asc' }] },
  },
  { name: 'UUID primary key, no order', query: { table: 'devices' } },
  { name: 'hostile string keys', query: { table: 'countries', orderBy: [{ column: 'code', direction: 'asc' }] } },
]

/** How the first run ends: a throw in the loop body after `exitAfter` batches were handled, or a `break` once they were. */
const exits = [
  { batchYieldSize: 7, chunkSize: 13, exitAfter: 3, exit: 'crash' },
  { batchYieldSize: 1, chunkSize: 13, exitAfter: 1, exit: 'crash' },
  { batchYieldSize: 25, chunkSize: 13, exitAfter: 1, exit: 'crash' },
  { batchYieldSize: 10, chunkSize: 17, exitAfter: 3, exit: 'crash' },
  { batchYieldSize: 5, chunkSize: 7, exitAfter: 3, exit: 'break' },
] as const

/** Read-ahead states a token may be asked for in. */
const progressSettings: readonly {
  readonly name: string
  readonly options: FixtureRunOptions
  readonly delayMs: number
}[] = [
  {
    name: 'batches ending mid-chunk, prefetch 2, slow consumer',
    options: { batchYieldSize: 5, chunkSize: 13, prefetch: 2 },
    delayMs: 2,
  },
  {
    name: 'batches spanning chunks, prefetch 1',
    options: { batchYieldSize: 31, chunkSize: 13, prefetch: 1 },
    delayMs: 0,
  },
  {
    name: 'batches spanning chunks, prefetch 0, slow consumer',
    options: { batchYieldSize: 20, chunkSize: 7, prefetch: 0 },
    delayMs: 2,
  },
  {
    name: 'one entity at a time, prefetch 3, slow consumer',
    options: { chunkSize: 11, prefetch: 3, limit: 60 },
    delayMs: 1,
  },
]

/** Registers the resume scenario for `driver` on a seeded database. */
export function defineResumeSuite(driver: FixtureDriver): void {
  const { dialect, errors } = driver
  const db = useTestDatabase(dialect, { seed: true })
  let orm: FixtureOrm
  beforeAll(async () => {
    orm = await driver.open(db.url)
  })
  afterAll(async () => {
    await orm?.close()
  })

  /** Runs `query` until it ends as `exit` says; returns the handled entities and the progress saved after the last handled batch. */
  async function firstRun(
    query: FixtureQuery,
    run: { batchYieldSize: number; chunkSize: number; exitAfter: number; exit: 'crash' | 'break' },
  ) {
    const handled: object[] = []
    let reported: { cursor?: string | undefined; rows: number } | undefined // onProgress runs just before the batch is yielded
    let saved: typeof reported // saved once the batch is handled
    const loop = async () => {
      let batches = 0
      for await (const batch of orm.aiterator(query, {
        batchYieldSize: run.batchYieldSize,
        chunkSize: run.chunkSize,
        onProgress: (p) => (reported = p),
      })) {
        if (run.exit === 'crash' && batches === run.exitAfter) throw crash
        handled.push(...(batch as object[]))
        saved = reported
        batches++
        if (run.exit === 'break' && batches === run.exitAfter) break
      }
    }
    if (run.exit === 'crash') await expect(loop()).rejects.toBe(crash)
    else await loop()
    return { handled, saved }
  }

  describe.each(cases)('resume after the first run ends: $name', ({ query }) => {
    it.each(exits)(
      'batchYieldSize $batchYieldSize, chunkSize $chunkSize, $exit after $exitAfter batches: both runs together are the reference, each entity once',
      async (run) => {
        const expected = await orm.find(withPrimaryKey(query))
        const { handled, saved } = await firstRun(query, run)
        expect(handled).toHaveLength(run.batchYieldSize * run.exitAfter)
        expect(typeof saved?.cursor).toBe('string')
        expect(saved?.rows).toBe(handled.length)
        const fresh = await driver.open(db.url) // "a new process"
        try {
          const rest = (
            (await collect(
              fresh.aiterator(query, {
                batchYieldSize: run.batchYieldSize,
                chunkSize: run.chunkSize,
                after: saved!.cursor!,
              }),
            )) as object[][]
          ).flat()
          expectSameEntities(orm, [...handled, ...rest], expected)
        } finally {
          await fresh.close()
        }
      },
    )
  })

  it('a token taken inside the NULL region of a nullable sort key resumes exactly', async () => {
    // NULLs come first: DESC on PostgreSQL, ASC on MariaDB
    const query: FixtureQuery = {
      table: 'books',
      orderBy: [{ column: 'published_at', direction: dialect === 'postgres' ? 'desc' : 'asc' }],
    }
    const nulls = db.dataset.books.filter((book) => book.published_at === null).length
    expect(nulls).toBeGreaterThan(10)
    const expected = await orm.find(withPrimaryKey(query))
    const { handled, saved } = await firstRun(query, { batchYieldSize: 10, chunkSize: 17, exitAfter: 1, exit: 'crash' })
    expect(handled.map((book) => orm.valueOf(book, 'published_at'))).toEqual(Array.from({ length: 10 }, () => null))
    const rest = (
      (await collect(orm.aiterator(query, { batchYieldSize: 10, chunkSize: 17, after: saved!.cursor! }))) as object[][]
    ).flat()
    expectSameEntities(orm, [...handled, ...rest], expected)
  })

  describe("every progress report's token resumes right after the last entity reported", () => {
    const queries: readonly { readonly name: string; readonly query: FixtureQuery }[] = [cases[0]!, cases[3]!]
    describe.each(queries)('$name', ({ query }) => {
      it.each(progressSettings)('$name', async ({ options, delayMs }) => {
        const everything = await orm.find(withPrimaryKey(query))
        const reports: { cursor: string | undefined; rows: number }[] = []
        const seen: object[] = []
        for await (const yielded of orm.aiterator(query, {
          ...options,
          onProgress: ({ cursor, rows }) => void reports.push({ cursor, rows }),
        })) {
          seen.push(...(Array.isArray(yielded) ? (yielded as object[]) : [yielded as object]))
          if (delayMs > 0) await sleep(delayMs)
        }
        const total = Math.min(options.limit ?? Infinity, everything.length)
        expectSameEntities(orm, seen, everything.slice(0, total))
        expect(reports.length).toBe(Math.ceil(total / (options.batchYieldSize ?? 1)))
        for (const { cursor, rows } of reports) {
          expect(typeof cursor).toBe('string')
          const next = (
            (await collect(orm.aiterator(query, { batchYieldSize: 1, limit: 1, after: cursor! }))) as object[][]
          ).flat()
          expectSameEntities(orm, next, everything.slice(rows, rows + 1))
        }
      })
    })
  })

  describe('resume tokens', () => {
    const books: FixtureQuery = { table: 'books' }

    it('the token of the last batch resumes to an empty run', async () => {
      let token: string | undefined
      await collect(orm.aiterator(books, { batchYieldSize: 100, onProgress: (p) => (token = p.cursor) }))
      expect(typeof token).toBe('string')
      expect(await collect(orm.aiterator(books, { batchYieldSize: 100, after: token! }))).toEqual([])
    })

    it('a token made for another ordering or another table is refused at the call, before any statement', async () => {
      let token: string | undefined
      const byRating: FixtureQuery = { table: 'books', orderBy: [{ column: 'rating', direction: 'asc' }] }
      await collect(orm.aiterator(byRating, { batchYieldSize: 50, limit: 50, onProgress: (p) => (token = p.cursor) }))
      let deviceToken: string | undefined
      await collect(
        orm.aiterator(
          { table: 'devices' },
          { batchYieldSize: 5, limit: 5, onProgress: (p) => (deviceToken = p.cursor) },
        ),
      )
      const before = orm.statements()
      expect(() =>
        orm.aiterator({ table: 'books', orderBy: [{ column: 'published_at', direction: 'asc' }] }, { after: token! }),
      ).toThrow(errors.InvalidResumeTokenError)
      expect(() =>
        orm.aiterator({ table: 'books', orderBy: [{ column: 'rating', direction: 'desc' }] }, { after: token! }),
      ).toThrow(errors.InvalidResumeTokenError)
      expect(() => orm.aiterator({ table: 'countries' }, { after: token! })).toThrow(errors.InvalidResumeTokenError)
      expect(() => orm.aiterator(byRating, { after: deviceToken! })).toThrow(errors.InvalidResumeTokenError)
      expect(orm.statements()).toBe(before)
    })

    it('garbage, empty, truncated and tampered tokens are refused at the call with InvalidResumeTokenError, before any statement', async () => {
      let token = ''
      await collect(orm.aiterator(books, { batchYieldSize: 10, limit: 10, onProgress: (p) => (token = p.cursor!) }))
      const tampered = token.slice(0, -2) + (token.endsWith('A') ? 'BB' : 'AA')
      const before = orm.statements()
      for (const bad of ['garbage', 'not a token', '', tampered, token.slice(0, 5)]) {
        expect(() => orm.aiterator(books, { after: bad }), JSON.stringify(bad)).toThrow(errors.InvalidResumeTokenError)
      }
      expect(orm.statements()).toBe(before)
    })

    if (dialect === 'postgres') {
      it('the cursor strategy reports no resume token', async () => {
        const cursors: (string | undefined)[] = []
        await collect(
          orm.aiterator(books, {
            strategy: 'cursor',
            batchYieldSize: 100,
            onProgress: (p) => void cursors.push(p.cursor),
          }),
        )
        expect(cursors).toEqual(Array.from({ length: Math.ceil(db.dataset.books.length / 100) }, () => undefined))
      })

      it('the cursor strategy refuses after at the call, naming after and the keyset strategy, before any statement', () => {
        const before = orm.statements()
        expect(() => orm.aiterator(books, { strategy: 'cursor', after: 'AQ', batchYieldSize: 5 })).toThrow(
          /after \(a resume token\) works with .*keyset/,
        )
        expect(orm.statements()).toBe(before)
      })
    }
  })
}
