import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import fc from 'fast-check'
import type { DataSource } from 'typeorm'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { aiterator, InvalidResumeTokenError } from '../src/index.js'
import { collect } from './support/collect.js'
import { openDataSource, QueryCounter } from './support/data-source.js'
import { Author, Book, Country, OrderLine } from './support/entities.js'

// Any bad value for an option gets a TypeError/RangeError that names the option, at the call,
// and no query runs (a logger counts every statement the data source sends).

const db = useTestDatabase('postgres', {
  seed: { counts: { authors: 2, books: 8, tags: 2, orderLines: 6, devices: 0, countries: 6 } },
})
const counter = new QueryCounter()
let ds: DataSource
beforeAll(async () => {
  ds = await openDataSource('postgres', db.url, { logger: counter })
})
afterAll(async () => {
  await ds?.destroy()
})
beforeEach(() => {
  counter.queries = []
})

const books = () => ds.getRepository(Book).createQueryBuilder('b')

/** Calls aiterator(qb, …args) and returns what it threw (failing the property if it did not throw). */
function thrown(...args: unknown[]): Error {
  try {
    ;(aiterator as (...a: unknown[]) => unknown)(books(), ...args)
  } catch (error) {
    return error as Error
  }
  throw new Error(`aiterator(qb, ${args.map((a) => String(a)).join(', ')}) did not throw`)
}

/** The property every rejection must meet: the right class, the option named, no statement sent. */
function expectRejected(
  error: Error,
  option: RegExp,
  classes: (new (...a: never[]) => Error)[] = [TypeError, RangeError],
): void {
  expect(classes.some((c) => error instanceof c)).toBe(true)
  expect(error.message).toMatch(option)
  expect(counter.queries).toEqual([])
}

/** Sizes: 0, negatives, NaN, ±Infinity, fractions, unsafe and huge numbers, strings, and other types. */
const badSize = (allowZero: boolean) =>
  fc.oneof(
    fc.integer({ max: allowZero ? -1 : 0 }),
    fc.double().filter((n) => !Number.isInteger(n) || n < (allowZero ? 0 : 1)),
    fc.constantFrom(
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      2 ** 53,
      2 ** 53 + 2,
      1e300,
      Number.MAX_VALUE,
      -Number.MAX_VALUE,
      0.5,
      1.000001,
    ),
    fc.string(),
    fc.integer().map(String),
    fc.boolean(),
    fc.constant(null),
    fc.bigInt(),
    fc.array(fc.integer()),
    fc.object(),
  )

const anyButUndefined = fc.anything().filter((v) => v !== undefined)

describe('bad option values are rejected at the call, naming the option, before any query', () => {
  it.each(['batchYieldSize', 'chunkSize'])('%s (not a positive integer)', (option) => {
    fc.assert(
      fc.property(badSize(false), (value) =>
        expectRejected(thrown({ [option]: value }), new RegExp(`^${option} must be a positive integer`)),
      ),
    )
  })

  it.each(['prefetch', 'limit'])('%s (not an integer from 0)', (option) => {
    fc.assert(
      fc.property(badSize(true), (value) =>
        expectRejected(thrown({ [option]: value }), new RegExp(`^${option} must be an integer from 0`)),
      ),
    )
  })

  it('batchYieldSize given as the first argument', () => {
    fc.assert(
      fc.property(
        badSize(false).filter((v) => typeof v !== 'object' || v === null),
        (value) => expectRejected(thrown(value), /batchYieldSize/),
      ),
    )
  })

  it('chunkSize after a valid positional batchYieldSize', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), badSize(false), (size, value) =>
        expectRejected(thrown(size, { chunkSize: value }), /^chunkSize must be a positive integer/),
      ),
    )
  })

  it('strategy (anything but auto, keyset, cursor)', () => {
    fc.assert(
      fc.property(
        anyButUndefined.filter((v) => !['auto', 'keyset', 'cursor'].includes(v as string)),
        (value) => expectRejected(thrown({ strategy: value }), /^strategy must be one of 'auto', 'keyset', 'cursor'/),
      ),
    )
  })

  it('signal and onProgress of the wrong type', () => {
    fc.assert(
      fc.property(
        anyButUndefined.filter((v) => !(v instanceof AbortSignal)),
        (value) => expectRejected(thrown({ signal: value }), /^signal must be an AbortSignal/, [TypeError]),
      ),
    )
    fc.assert(
      fc.property(
        anyButUndefined.filter((v) => typeof v !== 'function'),
        (value) => expectRejected(thrown({ onProgress: value }), /^onProgress must be a function/, [TypeError]),
      ),
    )
  })

  it('one bad option among good ones is the one named', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('batchYieldSize', 'chunkSize', 'prefetch', 'limit'),
        badSize(false),
        fc.constantFrom<'auto' | 'keyset'>('auto', 'keyset'),
        (option, value, strategy) => {
          const good = { batchYieldSize: 10, chunkSize: 100, prefetch: 1, limit: 50, strategy }
          // 0 is a valid prefetch and limit
          fc.pre(!((option === 'prefetch' || option === 'limit') && value === 0))
          expectRejected(thrown({ ...good, [option]: value }), new RegExp(`^${option} must be`))
        },
      ),
    )
  })
})

describe("resume tokens that are not this query's are rejected at the call with InvalidResumeTokenError naming `after`, before any query", () => {
  /** Tokens that runs of several query shapes reported (one per entity). */
  let tokens: { books: string[]; byRating: string[]; countries: string[]; orderLines: string[]; authors: string[] }
  const tokensOf = async (query: Parameters<typeof aiterator>[0]) => {
    const out: string[] = []
    await collect(aiterator(query, { batchYieldSize: 1, onProgress: (p) => void out.push(p.cursor!) }))
    return out
  }
  beforeAll(async () => {
    tokens = {
      books: await tokensOf(books()),
      byRating: await tokensOf(books().orderBy('b.rating', 'DESC')),
      countries: await tokensOf(ds.getRepository(Country).createQueryBuilder('c')),
      orderLines: await tokensOf(ds.getRepository(OrderLine).createQueryBuilder('l')),
      authors: await tokensOf(ds.getRepository(Author).createQueryBuilder('a')),
    }
    expect(tokens.books.length).toBeGreaterThan(2)
  })

  const expectInvalidToken = (token: string) =>
    expectRejected(thrown({ after: token }), /`after`/, [InvalidResumeTokenError])

  it('random strings', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.base64String(),
          fc.stringMatching(/^[A-Za-z0-9_-]{0,60}$/),
          fc.string({ unit: 'grapheme' }),
        ),
        expectInvalidToken,
      ),
    )
  })

  it('truncated tokens', () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat(), (which, cut) => {
        const token = tokens.books[which % tokens.books.length]!
        expectInvalidToken(token.slice(0, cut % token.length))
      }),
    )
  })

  it('tokens with one character changed, inserted or removed', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    fc.assert(
      fc.property(
        fc.nat(),
        fc.nat(),
        fc.nat(),
        fc.constantFrom('change', 'insert', 'remove'),
        (which, at, pick, edit) => {
          const token = tokens.books[which % tokens.books.length]!
          const i = at % token.length
          const char = alphabet[pick % alphabet.length]!
          fc.pre(edit !== 'change' || token[i] !== char)
          const tampered =
            edit === 'change'
              ? token.slice(0, i) + char + token.slice(i + 1)
              : edit === 'insert'
                ? token.slice(0, i) + char + token.slice(i)
                : token.slice(0, i) + token.slice(i + 1)
          expectInvalidToken(tampered)
        },
      ),
    )
  })

  it('tokens from another query (another ordering or entity)', () => {
    const foreign = [...tokens.byRating, ...tokens.countries, ...tokens.orderLines, ...tokens.authors]
    fc.assert(fc.property(fc.constantFrom(...foreign), expectInvalidToken))
  })

  it('a token that is not a string is a TypeError naming after', () => {
    fc.assert(
      fc.property(
        anyButUndefined.filter((v) => typeof v !== 'string'),
        (value) => expectRejected(thrown({ after: value }), /^after must be a resume token string/, [TypeError]),
      ),
    )
  })

  it("a valid token with strategy 'cursor' is a TypeError naming after", () => {
    fc.assert(
      fc.property(fc.constantFrom(...tokens.books), (token) =>
        expectRejected(
          thrown({ after: token, strategy: 'cursor' }),
          /^after \(a resume token\) works with strategy 'keyset' only/,
          [TypeError],
        ),
      ),
    )
  })

  it('(control) every token of the query itself is accepted and resumes right after its entity', async () => {
    const all = (await collect(aiterator(books(), 100))).flat()
    for (const [i, token] of tokens.books.entries()) {
      expect((await collect(aiterator(books(), { batchYieldSize: 100, after: token }))).flat()).toStrictEqual(
        all.slice(i + 1),
      )
    }
  })
})
