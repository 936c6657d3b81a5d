import type { EntityManager, Loaded } from '@mikro-orm/core'
import type { QueryBuilder as KnexQueryBuilder } from '@mikro-orm/knex'
import type { SqlEntityManager } from '@mikro-orm/sql'
import { describe, expectTypeOf, it } from 'vitest'
import {
  aiterator,
  type AiteratorOptions,
  aiteratorQueryBuilder,
  partitionsQueryBuilder,
  type QueryBuilderAiteratorOptions,
} from '../src/index.js'
import { Author, Book } from './entities.js'

declare const em: EntityManager
declare const sqlEm: SqlEntityManager

describe('em.aiterator types', () => {
  it('with batchYieldSize yields arrays, narrowed by populate exactly as em.find', () => {
    const books = em.aiterator(Book, { populate: ['author'], batchYieldSize: 500 })
    expectTypeOf(books).toEqualTypeOf<AsyncGenerator<Loaded<Book, 'author'>[], void, undefined>>()
    expectTypeOf(em.find(Book, {}, { populate: ['author'] })).resolves.toEqualTypeOf<Loaded<Book, 'author'>[]>()
  })

  it('without batchYieldSize yields single entities', () => {
    expectTypeOf(em.aiterator(Book)).toEqualTypeOf<AsyncGenerator<Loaded<Book, never>, void, undefined>>()
    expectTypeOf(em.aiterator(Book, { where: { rating: 5 } })).toEqualTypeOf<
      AsyncGenerator<Loaded<Book, never>, void, undefined>
    >()
  })

  it('populate of several relations, and nested paths', () => {
    const books = em.aiterator(Book, { populate: ['author', 'tags'], batchYieldSize: 10 })
    expectTypeOf(books).toEqualTypeOf<AsyncGenerator<Loaded<Book, 'author' | 'tags'>[], void, undefined>>()
    const authors = em.aiterator(Author, { populate: ['books.tags'] })
    expectTypeOf(authors).toEqualTypeOf<AsyncGenerator<Loaded<Author, 'books.tags'>, void, undefined>>()
  })

  it('fields narrow the entity like em.find', () => {
    const partial = em.aiterator(Book, { fields: ['title', 'author.name'], batchYieldSize: 10 })
    expectTypeOf(partial).toEqualTypeOf<
      AsyncGenerator<Loaded<Book, never, 'title' | 'author.name'>[], void, undefined>
    >()
  })

  it('works on driver EntityManagers and through the function form', () => {
    expectTypeOf(sqlEm.aiterator(Book, { batchYieldSize: 5 })).toEqualTypeOf<
      AsyncGenerator<Loaded<Book, never>[], void, undefined>
    >()
    expectTypeOf(aiterator(em, Book, { populate: ['author'], batchYieldSize: 5 })).toEqualTypeOf<
      AsyncGenerator<Loaded<Book, 'author'>[], void, undefined>
    >()
  })

  it('rejects wrong option types at compile time', () => {
    // @ts-expect-error: unknown property in where
    em.aiterator(Book, { where: { nope: 1 } })
    // @ts-expect-error: not a relation of Book
    em.aiterator(Book, { populate: ['publisher'] })
    // @ts-expect-error: strategy is the iteration strategy
    em.aiterator(Book, { strategy: 'joined' })
    // @ts-expect-error: orderBy on an unknown property
    em.aiterator(Book, { orderBy: { rank: 'asc' } })
    expectTypeOf<AiteratorOptions<Book>['strategy']>().toEqualTypeOf<'auto' | 'keyset' | 'cursor' | undefined>()
  })
})

describe('qb.aiterator types (module augmentation of @mikro-orm/sql)', () => {
  it("yields what getResultList() returns: the joined relations' hint narrows the entity", () => {
    const qb = sqlEm
      .createQueryBuilder(Book, 'b')
      .select('*')
      .leftJoinAndSelect('b.author', 'a')
      .where({ 'a.name': { $like: 'A%' } })
    type Result = Awaited<ReturnType<typeof qb.getResultList>>[number]
    expectTypeOf(qb.aiterator(500)).toEqualTypeOf<AsyncGenerator<Result[], void, undefined>>()
    expectTypeOf(qb.aiterator(500)).toEqualTypeOf<AsyncGenerator<Loaded<Book, 'author', '*'>[], void, undefined>>()
    expectTypeOf(qb.aiterator()).toEqualTypeOf<AsyncGenerator<Result, void, undefined>>()
    expectTypeOf(qb.aiterator({ batchYieldSize: 10, strategy: 'cursor' })).toEqualTypeOf<
      AsyncGenerator<Result[], void, undefined>
    >()
  })

  it('a plain query builder yields the entity, and the function form infers the same', () => {
    const qb = sqlEm.createQueryBuilder(Author, 'a').select('*').orderBy({ createdAt: 'desc' })
    expectTypeOf(qb.aiterator({ chunkSize: 100 })).toEqualTypeOf<
      AsyncGenerator<Loaded<Author, never, '*'>, void, undefined>
    >()
    expectTypeOf(aiteratorQueryBuilder(qb, 5)).toEqualTypeOf<
      AsyncGenerator<Loaded<Author, never, '*'>[], void, undefined>
    >()
    expectTypeOf(aiteratorQueryBuilder(qb)).toEqualTypeOf<AsyncGenerator<Loaded<Author, never, '*'>, void, undefined>>()
    const options: QueryBuilderAiteratorOptions = { chunkSize: 10 }
    expectTypeOf(qb.aiterator(options)).toEqualTypeOf<
      AsyncGenerator<Loaded<Author, never, '*'> | Loaded<Author, never, '*'>[], void, undefined>
    >()
  })

  it('rejects what the query builder decides and unknown strategies', () => {
    const qb = sqlEm.createQueryBuilder(Book, 'b')
    // @ts-expect-error: the query builder's own where, not an option
    qb.aiterator({ where: { rating: 5 } })
    // @ts-expect-error: not a strategy
    qb.aiterator({ strategy: 'offset' })
    // @ts-expect-error: batchYieldSize given twice
    qb.aiterator(5, { batchYieldSize: 5 })
  })
})

// MikroORM 6's query builder (@mikro-orm/knex, from the 6.6 line's workspace: see tsconfig.json's paths). Its
// `Loaded` here is the root's MikroORM 7 one, as the declaration names `@mikro-orm/core`; in a MikroORM 6 project
// both are 6's. A MikroORM 6 project compiles and runs `qb.aiterator()` in `npm run consumer-install`.
describe('qb.aiterator types on MikroORM 6 (module augmentation of @mikro-orm/knex)', () => {
  it('yields the entity narrowed by the joined relations, as getResultList() there', () => {
    const qb = {} as KnexQueryBuilder<Book, 'b', 'author'>
    expectTypeOf(qb.aiterator(500)).toEqualTypeOf<AsyncGenerator<Loaded<Book, 'author'>[], void, undefined>>()
    expectTypeOf(qb.aiterator({ batchYieldSize: 10, strategy: 'keyset' })).toEqualTypeOf<
      AsyncGenerator<Loaded<Book, 'author'>[], void, undefined>
    >()
    expectTypeOf(qb.aiterator()).toEqualTypeOf<AsyncGenerator<Loaded<Book, 'author'>, void, undefined>>()
    const options: QueryBuilderAiteratorOptions = { chunkSize: 10 }
    expectTypeOf(qb.aiterator(options)).toEqualTypeOf<
      AsyncGenerator<Loaded<Book, 'author'> | Loaded<Book, 'author'>[], void, undefined>
    >()
  })

  it('the function forms take it too (AnyQueryBuilder) and infer the same', () => {
    const qb = {} as KnexQueryBuilder<Book, 'b', 'author'>
    expectTypeOf(aiteratorQueryBuilder(qb, 5)).toEqualTypeOf<
      AsyncGenerator<Awaited<ReturnType<typeof qb.getResultList>>[number][], void, undefined>
    >()
    expectTypeOf(partitionsQueryBuilder).toBeCallableWith(qb, 4)
    // @ts-expect-error: an EntityManager is not a query builder
    aiteratorQueryBuilder(em, 5)
  })

  it('rejects what the query builder decides and unknown strategies', () => {
    const qb = {} as KnexQueryBuilder<Author>
    // @ts-expect-error: the query builder's own where, not an option
    qb.aiterator({ where: { name: 'A' } })
    // @ts-expect-error: not a strategy
    qb.aiterator({ strategy: 'offset' })
    // @ts-expect-error: batchYieldSize given twice
    qb.aiterator(5, { batchYieldSize: 5 })
  })
})
