import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import type { DataSource } from 'typeorm'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { aiterator, KeysetOrderingError } from '../src/index.js'
import { openDataSource, QueryCounter } from './support/data-source.js'
import { Author, Book } from './support/entities.js'

// Bad input fails at the call, synchronously, with a message naming the option, the value
// received and what is accepted; and no query has run.

const db = useTestDatabase('postgres', {
  seed: { counts: { authors: 3, books: 10, tags: 3, orderLines: 0, devices: 0, countries: 0 } },
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

const qb = () => ds.getRepository(Book).createQueryBuilder('b')
const call =
  (...args: unknown[]) =>
  () =>
    (aiterator as (...a: unknown[]) => unknown)(qb(), ...args)

describe('invalid options throw at the call, before any query', () => {
  it.each([
    { args: [0], error: RangeError, message: /batchYieldSize must be a positive integer.*received 0/ },
    { args: [-5], error: RangeError, message: /batchYieldSize.*received -5/ },
    { args: [1.5], error: RangeError, message: /batchYieldSize.*received 1\.5/ },
    { args: [Number.NaN], error: RangeError, message: /batchYieldSize.*received NaN/ },
    { args: [Number.POSITIVE_INFINITY], error: RangeError, message: /batchYieldSize.*received Infinity/ },
    { args: [{ batchYieldSize: '10' }], error: TypeError, message: /batchYieldSize.*received "10"/ },
    { args: [{ chunkSize: 0 }], error: RangeError, message: /chunkSize.*received 0/ },
    { args: [10, { chunkSize: 2.5 }], error: RangeError, message: /chunkSize.*received 2\.5/ },
    { args: [{ prefetch: -1 }], error: RangeError, message: /prefetch.*received -1/ },
    { args: [{ limit: -1 }], error: RangeError, message: /limit.*received -1/ },
    {
      args: [{ strategy: 'fast' }],
      error: RangeError,
      message: /strategy must be one of 'auto', 'keyset', 'cursor'; received "fast"/,
    },
    { args: [{ strategy: 1 }], error: TypeError, message: /strategy must be one of/ },
    { args: [{ after: 42 }], error: TypeError, message: /after must be a resume token string.*received 42/ },
    {
      args: [{ strategy: 'cursor', after: 'abc' }],
      error: TypeError,
      message: /after .* works with strategy 'keyset' only/,
    },
    {
      args: [{ batchSize: 10 }],
      error: TypeError,
      message: /unknown option "batchSize"; accepted options are batchYieldSize, chunkSize/,
    },
    {
      args: [null],
      error: TypeError,
      message: /batchYieldSize \(positive integer\) or an options object; received null/,
    },
    { args: ['500'], error: TypeError, message: /received "500"/ },
    { args: [5, { batchYieldSize: 5 }], error: TypeError, message: /batchYieldSize once/ },
    { args: [{ onProgress: 'log' }], error: TypeError, message: /onProgress/ },
    { args: [{ signal: {} }], error: TypeError, message: /signal/ },
  ])('$args', ({ args, error, message }) => {
    expect(call(...args)).toThrow(error)
    expect(call(...args)).toThrow(message)
    expect(counter.queries).toEqual([])
  })

  it('the prototype method validates the same way', () => {
    expect(() => qb().aiterator({ chunkSize: -1 })).toThrow(/chunkSize/)
    expect(counter.queries).toEqual([])
  })

  it('something that is not a query builder', () => {
    expect(() => aiterator({} as never, 10)).toThrow(/first argument must be a TypeORM SelectQueryBuilder/)
  })
})

describe('queries the strategies cannot follow fail at the call', () => {
  it("strategy 'keyset' with an ORDER BY expression names the term and suggests 'cursor'", () => {
    const call = () => aiterator(qb().orderBy('LOWER(b.title)'), { strategy: 'keyset' })
    expect(call).toThrow(KeysetOrderingError)
    expect(call).toThrow(/ORDER BY LOWER\(b\.title\) is not a column of the root entity Book.*or use strategy 'cursor'/)
    expect(counter.queries).toEqual([])
  })

  it('a to-many join ordered by a joined column before the primary key (no strategy keeps entities whole)', () => {
    const query = () =>
      ds.getRepository(Author).createQueryBuilder('a').leftJoinAndSelect('a.books', 'bk').orderBy('bk.title')
    expect(() => aiterator(query())).toThrow(KeysetOrderingError)
    expect(() => aiterator(query(), { strategy: 'cursor' })).toThrow(/an entity's rows would not be adjacent/)
    expect(counter.queries).toEqual([])
  })

  it('limit() with a to-many join counts SQL rows: take() is required', () => {
    expect(() => aiterator(qb().leftJoinAndSelect('b.tags', 't').limit(10))).toThrow(
      /limit\(10\) counts SQL rows.*use take\(\)/,
    )
  })

  it('a query builder without an entity', () => {
    expect(() => aiterator(ds.createQueryBuilder().select('1'), 10)).toThrow(/selects an entity/)
  })

  it('setLock("optimistic")', () => {
    expect(() => aiterator(qb().setLock('optimistic', 1))).toThrow(/optimistic/)
  })
})

describe('nothing runs until the first next()', () => {
  it('creating the iterator sends no query; the first next() does', async () => {
    const iterator = aiterator(qb(), 3)
    expect(counter.queries).toEqual([])
    const first = await iterator.next()
    expect(first.value).toHaveLength(3)
    expect(counter.queries.length).toBeGreaterThan(0)
    await iterator.return()
  })
})
