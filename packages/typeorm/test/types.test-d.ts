import type { DataSource, SelectQueryBuilder } from 'typeorm'
import { describe, expectTypeOf, it } from 'vitest'
import { aiterator, type Progress, type TypeormBatchOptions } from '../src/index.js'
import type { Book } from './support/entities.js'

declare const dataSource: DataSource
declare const qb: SelectQueryBuilder<Book>

describe('qb.aiterator() (module augmentation of typeorm)', () => {
  it('yields lists with a numeric batchYieldSize', () => {
    expectTypeOf(qb.aiterator(500)).toEqualTypeOf<AsyncGenerator<Book[], void, undefined>>()
    expectTypeOf(qb.aiterator(500, { chunkSize: 2000, strategy: 'keyset' })).toEqualTypeOf<AsyncGenerator<Book[], void, undefined>>()
  })
  it('yields single entities without batchYieldSize', () => {
    expectTypeOf(qb.aiterator()).toEqualTypeOf<AsyncGenerator<Book, void, undefined>>()
    expectTypeOf(qb.aiterator({ chunkSize: 100, strategy: 'cursor' })).toEqualTypeOf<AsyncGenerator<Book, void, undefined>>()
  })
  it('yields lists with batchYieldSize in the options object', () => {
    expectTypeOf(qb.aiterator({ batchYieldSize: 500, chunkSize: 2000, prefetch: 2, after: 'token' })).toEqualTypeOf<AsyncGenerator<Book[], void, undefined>>()
  })
  it('options typed TypeormBatchOptions (size unknown statically) give entities or lists', () => {
    const options: TypeormBatchOptions = { chunkSize: 100 }
    expectTypeOf(qb.aiterator(options)).toEqualTypeOf<AsyncGenerator<Book | Book[], void, undefined>>()
    expectTypeOf(aiterator(qb, options)).toEqualTypeOf<AsyncGenerator<Book | Book[], void, undefined>>()
  })
  it('infers the entity from the repository query builder', () => {
    const books = dataSource.getRepository<Book>('Book').createQueryBuilder('b').where('b.rating > 3')
    expectTypeOf(books.aiterator(10)).toEqualTypeOf<AsyncGenerator<Book[], void, undefined>>()
  })
  it('types the progress callback and rejects unknown strategies and non-numeric sizes', () => {
    qb.aiterator({ batchYieldSize: 5, onProgress: (p) => expectTypeOf(p).toEqualTypeOf<Progress>() })
    // @ts-expect-error: not a strategy
    qb.aiterator({ strategy: 'offset' })
    // @ts-expect-error: batchYieldSize is a number
    qb.aiterator('500')
    // @ts-expect-error: batchYieldSize given twice
    qb.aiterator(5, { batchYieldSize: 5 })
  })
})

describe('aiterator(qb, …) without the prototype', () => {
  it('has the same inference', () => {
    expectTypeOf(aiterator(qb, 500)).toEqualTypeOf<AsyncGenerator<Book[], void, undefined>>()
    expectTypeOf(aiterator(qb, { batchYieldSize: 3 })).toEqualTypeOf<AsyncGenerator<Book[], void, undefined>>()
    expectTypeOf(aiterator(qb)).toEqualTypeOf<AsyncGenerator<Book, void, undefined>>()
    expectTypeOf(aiterator(qb, { limit: 10 })).toEqualTypeOf<AsyncGenerator<Book, void, undefined>>()
  })
})
