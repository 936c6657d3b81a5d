import type { DataSource, EntityManager, Repository, SelectQueryBuilder } from 'typeorm'
import { describe, expectTypeOf, it } from 'vitest'
import { aiterator, aiteratorFind, type Progress, type TypeormBatchOptions } from '../src/index.js'
import { Author, Book } from './support/entities.js'

declare const dataSource: DataSource
declare const qb: SelectQueryBuilder<Book>
declare const repo: Repository<Book>
declare const manager: EntityManager

describe('qb.aiterator() (module augmentation of typeorm)', () => {
  it('yields lists with a numeric batchYieldSize', () => {
    expectTypeOf(qb.aiterator(500)).toEqualTypeOf<AsyncGenerator<Book[], void, undefined>>()
    expectTypeOf(qb.aiterator(500, { chunkSize: 2000, strategy: 'keyset' })).toEqualTypeOf<
      AsyncGenerator<Book[], void, undefined>
    >()
  })
  it('yields single entities without batchYieldSize', () => {
    expectTypeOf(qb.aiterator()).toEqualTypeOf<AsyncGenerator<Book, void, undefined>>()
    expectTypeOf(qb.aiterator({ chunkSize: 100, strategy: 'cursor' })).toEqualTypeOf<
      AsyncGenerator<Book, void, undefined>
    >()
  })
  it('yields lists with batchYieldSize in the options object', () => {
    expectTypeOf(qb.aiterator({ batchYieldSize: 500, chunkSize: 2000, prefetch: 2, after: 'token' })).toEqualTypeOf<
      AsyncGenerator<Book[], void, undefined>
    >()
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

describe('repo.aiterator(findOptions, …), manager.aiterator(Entity, findOptions, …), aiteratorFind(repo, …)', () => {
  it('yields what find returns: lists with a batchYieldSize, single entities without', () => {
    expectTypeOf(repo.aiterator({ where: { rating: 5 }, relations: { author: true } }, 500)).toEqualTypeOf<
      AsyncGenerator<Book[], void, undefined>
    >()
    expectTypeOf(repo.aiterator(undefined, { batchYieldSize: 500, strategy: 'keyset' })).toEqualTypeOf<
      AsyncGenerator<Book[], void, undefined>
    >()
    expectTypeOf(repo.aiterator({ order: { publishedAt: 'DESC' } })).toEqualTypeOf<
      AsyncGenerator<Book, void, undefined>
    >()
    expectTypeOf(repo.aiterator()).toEqualTypeOf<AsyncGenerator<Book, void, undefined>>()
    expectTypeOf(aiteratorFind(repo, { withDeleted: true }, 10)).toEqualTypeOf<
      AsyncGenerator<Book[], void, undefined>
    >()
    expectTypeOf(aiteratorFind(repo, { take: 10 })).toEqualTypeOf<AsyncGenerator<Book, void, undefined>>()
  })
  it('infers the entity from the class given to the manager and from getRepository', () => {
    expectTypeOf(manager.aiterator(Author, { where: { id: 1 } }, 100)).toEqualTypeOf<
      AsyncGenerator<Author[], void, undefined>
    >()
    expectTypeOf(manager.aiterator(Author)).toEqualTypeOf<AsyncGenerator<Author, void, undefined>>()
    expectTypeOf(dataSource.getRepository(Author).aiterator({}, { batchYieldSize: 2 })).toEqualTypeOf<
      AsyncGenerator<Author[], void, undefined>
    >()
  })
  it('options of unknown batchYieldSize give entities or lists', () => {
    const options: TypeormBatchOptions = { chunkSize: 100 }
    expectTypeOf(repo.aiterator({}, options)).toEqualTypeOf<AsyncGenerator<Book | Book[], void, undefined>>()
    expectTypeOf(manager.aiterator(Book, {}, options)).toEqualTypeOf<AsyncGenerator<Book | Book[], void, undefined>>()
  })
  it('checks find options against the entity and the batch options', () => {
    // @ts-expect-error: not a property of Book
    repo.aiterator({ where: { rank: 5 } }, 10)
    // @ts-expect-error: not a relation of Book
    manager.aiterator(Book, { relations: { publisher: true } })
    // @ts-expect-error: the find options come first
    repo.aiterator(500)
    // @ts-expect-error: not a strategy
    aiteratorFind(repo, {}, { strategy: 'offset' })
  })
})
