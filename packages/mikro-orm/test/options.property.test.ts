/**
 * Property-based tests (fast-check) of bad input: any bad value of any option is rejected at the
 * call with a TypeError/RangeError that names the option and shows the value received, and no
 * query runs. The ORM these calls go to logs every statement (`onQuery`); it must never send one.
 */
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import '../src/index.js'
import { InvalidResumeTokenError } from '../src/index.js'
import { Author, Book, Country, Device, OrderLine } from './entities.js'
import { openOrm, type TestOrm } from './support.js'

const db = useTestDatabase('postgres', { seed: true })
/** Receives only calls that must fail before any query. */
let strict: TestOrm
/** Runs real iterations to obtain real resume tokens. */
let source: TestOrm
beforeAll(() => {
  strict = openOrm('postgres', db.url)
  source = openOrm('postgres', db.url)
})
afterAll(async () => {
  // not a single statement reached the database through the ORM that received the bad calls
  expect(strict?.queries).toEqual([])
  await strict?.close()
  await source?.close()
})

/** Calls `em.aiterator(entity, options)` and returns what it threw, failing when it did not throw. */
function thrown(options: unknown, entity: object = Book): Error {
  try {
    ;(strict.em.aiterator as (entity: unknown, options: unknown) => unknown)(entity, options)
  } catch (error) {
    return error as Error
  }
  throw new Error(
    `aiterator(${JSON.stringify(options, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))}) did not throw`,
  )
}

/** A rejection as promised: TypeError/RangeError (or the given classes), naming the option, no statement sent. */
function expectRejected(
  error: Error,
  option: string,
  classes: readonly (abstract new (...args: never[]) => Error)[] = [TypeError, RangeError],
): void {
  expect(
    classes.some((c) => error instanceof c),
    `${error.name}: ${error.message}`,
  ).toBe(true)
  expect(error.message).toContain(option)
  expect(strict.queries).toEqual([])
}

/** Values that are never a number: strings (numeric ones included), bigints, booleans, null, objects, arrays, functions. */
const notANumber = fc.oneof(
  fc.string(),
  fc.integer().map(String),
  fc.bigInt(),
  fc.boolean(),
  fc.constant(null),
  fc.object(),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.constant(() => 1),
)
/** Numbers that are not integers in the safe range: NaN, ±Infinity, fractions, and integers beyond 2^53 - 1. */
const badNumber = fc.oneof(
  fc.constantFrom(
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    Number.MAX_SAFE_INTEGER + 1,
    Number.MAX_VALUE,
    1e300,
  ),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Number.isInteger(x)),
  fc.double({ min: 2 ** 53, noNaN: true }),
  fc.double({ max: -(2 ** 53), noNaN: true }),
)
const badPositive = fc.oneof(notANumber, badNumber, fc.integer({ max: 0 }))
const badNonNegative = fc.oneof(notANumber, badNumber, fc.integer({ max: -1 }))

const sizeOptions = [
  ['batchYieldSize', badPositive],
  ['chunkSize', badPositive],
  ['prefetch', badNonNegative],
  ['limit', badNonNegative],
  ['offset', badNonNegative],
] as const

describe('sizes: 0, negative, NaN, Infinity, fractions, strings, huge and other types', () => {
  for (const [option, bad] of sizeOptions) {
    it(`${option}: every bad value is a TypeError/RangeError naming ${option} and the value, before any query`, () => {
      fc.assert(
        fc.property(bad, (value) => {
          const error = thrown({ [option]: value })
          expectRejected(error, option)
          expect(error.message).toMatch(/received/)
          // numbers out of range are RangeErrors, values of another type TypeErrors
          expect(error).toBeInstanceOf(typeof value === 'number' ? RangeError : TypeError)
        }),
        { numRuns: 300 },
      )
    })
  }

  it('good values of every size are accepted at the call, and nothing runs until iteration starts', () => {
    fc.assert(
      fc.property(
        fc.record(
          {
            batchYieldSize: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
            chunkSize: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
            prefetch: fc.nat(),
            limit: fc.nat(),
            offset: fc.nat(),
            strategy: fc.constantFrom('auto', 'keyset', 'cursor'),
          },
          { requiredKeys: [] },
        ),
        (options) => {
          expect(() => strict.em.aiterator(Book, options)).not.toThrow()
          expect(strict.queries).toEqual([])
        },
      ),
    )
  })

  it('an options object mixing good and bad values: the error names one of the bad options', () => {
    const good = {
      batchYieldSize: fc.integer({ min: 1, max: 10_000 }),
      chunkSize: fc.integer({ min: 1, max: 10_000 }),
      prefetch: fc.nat(4),
      limit: fc.nat(),
      offset: fc.nat(),
    }
    const bad = {
      batchYieldSize: badPositive,
      chunkSize: badPositive,
      prefetch: badNonNegative,
      limit: badNonNegative,
      offset: badNonNegative,
    }
    const names = Object.keys(good) as (keyof typeof good)[]
    const mixed = fc
      .subarray(names, { minLength: 1 })
      .chain((badNames) =>
        fc.tuple(
          fc.constant(badNames),
          fc.record(
            Object.fromEntries(names.map((n) => [n, badNames.includes(n) ? bad[n] : good[n]])) as Record<
              string,
              fc.Arbitrary<unknown>
            >,
          ),
        ),
      )
    fc.assert(
      fc.property(mixed, ([badNames, options]) => {
        const error = thrown(options)
        expect(error instanceof TypeError || error instanceof RangeError).toBe(true)
        expect(badNames.some((name) => error.message.startsWith(`${name} `))).toBe(true)
        expect(strict.queries).toEqual([])
      }),
      { numRuns: 300 },
    )
  })
})

describe('strategy', () => {
  it('any value other than auto, keyset, cursor is rejected naming strategy, the value and the accepted values', () => {
    const accepted = new Set(['auto', 'keyset', 'cursor'])
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string().filter((s) => !accepted.has(s)),
          fc.constantFrom('Keyset', 'CURSOR', ' auto', 'joined', 'select-in', 'balanced'),
          notANumber.filter((v) => typeof v !== 'string'),
          fc.double(),
        ),
        (strategy) => {
          const error = thrown({ strategy })
          expectRejected(error, 'strategy')
          expect(error.message).toContain("'auto', 'keyset', 'cursor'")
          expect(error).toBeInstanceOf(typeof strategy === 'string' ? RangeError : TypeError)
        },
      ),
      { numRuns: 300 },
    )
  })

  it('loadStrategy: any value other than MikroORM load strategies is rejected naming loadStrategy', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string().filter((s) => !['select-in', 'joined', 'balanced'].includes(s)),
          fc.integer(),
          fc.constant(null),
        ),
        (loadStrategy) => {
          expectRejected(thrown({ loadStrategy }), 'loadStrategy')
        },
      ),
    )
  })
})

describe('resume tokens (after)', () => {
  /** Real tokens: for each entity/ordering, the cursor reported after each of the first batches. */
  const tokens = new Map<string, string[]>()
  const queries = {
    'Book by id': [Book, {}],
    'Book by rating desc': [Book, { orderBy: { rating: 'desc' } }],
    'Book by publishedAt asc': [Book, { orderBy: { publishedAt: 'asc' } }],
    'Book by publishedAt asc nulls first': [Book, { orderBy: { publishedAt: 'asc nulls first' } }],
    'Book by title, then price desc': [Book, { orderBy: [{ title: 'asc' }, { price: 'desc' }] }],
    'Author by id': [Author, {}],
    'Device by id': [Device, {}],
    'Country by code': [Country, {}],
    'OrderLine by its composite key': [OrderLine, {}],
  } as const
  type QueryName = keyof typeof queries
  const names = Object.keys(queries) as QueryName[]

  beforeAll(async () => {
    for (const name of names) {
      const [entity, options] = queries[name]
      const list: string[] = []
      const iterator = source.em.aiterator(entity as typeof Book, {
        ...(options as object),
        batchYieldSize: 7,
        chunkSize: 10,
        limit: 35,
        onProgress: (p) => list.push(p.cursor!),
      })
      for await (const _ of iterator);
      expect(list).toHaveLength(5)
      // each token resumes its own query
      const [, second] = list
      expect(() => source.em.aiterator(entity as typeof Book, { ...(options as object), after: second })).not.toThrow()
      tokens.set(name, list)
    }
  })
  const tokenOf = (name: QueryName, i: number): string => tokens.get(name)![i % 5]!

  it('random strings and random bytes are rejected with InvalidResumeTokenError naming after', () => {
    const randomBytesToken = fc.uint8Array({ maxLength: 80 }).map((bytes) => Buffer.from(bytes).toString('base64url'))
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.base64String(), randomBytesToken),
        (after) => {
          const error = thrown({ after })
          expectRejected(error, 'after', [InvalidResumeTokenError])
          expect(error).toBeInstanceOf(TypeError)
        },
      ),
      { numRuns: 400 },
    )
  })

  it('a real token cut short at any length is rejected', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...names),
        fc.nat(4),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (name, i, at) => {
          const token = tokenOf(name, i)
          const [entity, options] = queries[name]
          expectRejected(
            thrown({ ...(options as object), after: token.slice(0, Math.floor(at * token.length)) }, entity),
            'after',
            [InvalidResumeTokenError],
          )
        },
      ),
      { numRuns: 300 },
    )
  })

  it('a real token with any one character changed is rejected', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    fc.assert(
      fc.property(
        fc.constantFrom(...names),
        fc.nat(4),
        fc.nat(),
        fc.constantFrom(...alphabet),
        (name, i, position, replacement) => {
          const token = tokenOf(name, i)
          // the last character may carry only padding bits, so it is left alone
          const at = position % (token.length - 1)
          fc.pre(token[at] !== replacement)
          const tampered = token.slice(0, at) + replacement + token.slice(at + 1)
          const [entity, options] = queries[name]
          expectRejected(thrown({ ...(options as object), after: tampered }, entity), 'after', [
            InvalidResumeTokenError,
          ])
        },
      ),
      { numRuns: 400 },
    )
  })

  it('a token of another entity or another ordering is rejected', () => {
    fc.assert(
      fc.property(fc.constantFrom(...names), fc.constantFrom(...names), fc.nat(4), (from, to, i) => {
        fc.pre(from !== to)
        const [entity, options] = queries[to]
        const error = thrown({ ...(options as object), after: tokenOf(from, i) }, entity)
        expectRejected(error, 'after', [InvalidResumeTokenError])
        expect(error.message).toMatch(/made for a different query/)
      }),
      { numRuns: 200 },
    )
  })

  it('after of another type is a TypeError naming after', () => {
    fc.assert(
      fc.property(
        notANumber.filter((v) => typeof v !== 'string'),
        (after) => {
          expectRejected(thrown({ after }), 'after', [TypeError])
        },
      ),
    )
  })
})
