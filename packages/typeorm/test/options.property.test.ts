import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import fc from 'fast-check'
import type { DataSource } from 'typeorm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { aiterator, InvalidResumeTokenError } from '../src/index.js'
import { openDataSource, QueryCounter } from './support/data-source.js'
import { Book } from './support/entities.js'

// Any bad value for an option gets a TypeError/RangeError that names the option, at the call,
// and no query runs.

const db = useTestDatabase('postgres', { seed: { counts: { authors: 2, books: 5, tags: 2, orderLines: 0, devices: 0, countries: 0 } } })
const counter = new QueryCounter()
let ds: DataSource
beforeAll(async () => {
  ds = await openDataSource('postgres', db.url, { logger: counter })
})
afterAll(async () => {
  await ds?.destroy()
})

const notPositiveInteger = fc.oneof(
  fc.integer({ max: 0 }),
  fc.double().filter((n) => !Number.isInteger(n) || n < 1),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2 ** 53, 1e300),
  fc.string(),
  fc.boolean(),
  fc.constant(null),
  fc.bigInt(),
  fc.object(),
)

describe('bad option values are rejected at the call, naming the option, before any query', () => {
  it.each(['batchYieldSize', 'chunkSize'])('%s', (option) => {
    fc.assert(
      fc.property(notPositiveInteger, (value) => {
        counter.queries = []
        const call = () => aiterator(ds.getRepository(Book).createQueryBuilder('b'), { [option]: value })
        expect(call).toThrow(new RegExp(`^${option} must be a positive integer`))
        try {
          call()
        } catch (error) {
          expect(error instanceof TypeError || error instanceof RangeError).toBe(true)
        }
        expect(counter.queries).toEqual([])
      }),
    )
  })

  it('strategy', () => {
    fc.assert(
      fc.property(
        fc.anything().filter((v) => v !== undefined && !['auto', 'keyset', 'cursor'].includes(v as string)),
        (value) => {
          expect(() => aiterator(ds.getRepository(Book).createQueryBuilder('b'), { strategy: value as never })).toThrow(/^strategy must be one of 'auto', 'keyset', 'cursor'/)
          expect(counter.queries).toEqual([])
        },
      ),
    )
  })

  it('after: random strings are InvalidResumeTokenError, other types a TypeError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.base64String(), fc.stringMatching(/^[A-Za-z0-9_-]{0,60}$/)), (token) => {
        expect(() => aiterator(ds.getRepository(Book).createQueryBuilder('b'), { after: token })).toThrow(InvalidResumeTokenError)
      }),
    )
    fc.assert(
      fc.property(
        fc.anything().filter((v) => v !== undefined && typeof v !== 'string'),
        (value) => {
          expect(() => aiterator(ds.getRepository(Book).createQueryBuilder('b'), { after: value as never })).toThrow(/^after must be a resume token string/)
        },
      ),
    )
    expect(counter.queries).toEqual([])
  })
})
