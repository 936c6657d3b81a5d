import type { Dialect } from '@batchyield/test-fixtures'
import { defineCorrectnessSuite } from '@batchyield/test-fixtures/conformance'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { Brackets, type DataSource, type ObjectLiteral, type SelectQueryBuilder } from 'typeorm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { aiterator, KeysetOrderingError, type Strategy, StrategyUnavailableError } from '../src/index.js'
import { collect, expectBatches } from './support/collect.js'
import { typeormFixtureDriver } from './support/conformance-driver.js'
import { openDataSource } from './support/data-source.js'
import { Author, Book, EagerBook } from './support/entities.js'

// Every shape: the concatenated batches equal getMany() of the same query (with the tie-breaker
// the adapter appends written out, so that getMany's order is deterministic too), in order, each
// entity once, every batch full except the last. The shapes both ORMs can spell (orders over root
// columns, NULL placement, composite/UUID/string keys, relations loaded with the entity, an empty
// result) are the conformance scenario (@batchyield/test-fixtures/conformance); here are the ones
// only a query builder has: joins it orders or filters itself, Brackets, find options, eager and
// embedded columns, relation ids, expressions, partial selects, take/skip and limit/offset.

for (const dialect of ['postgres', 'mariadb'] as Dialect[]) {
  describe(`results equal getMany() on ${dialect} (the conformance scenario)`, () => {
    defineCorrectnessSuite(typeormFixtureDriver(dialect))
  })
}

interface Shape {
  name: string
  /** The query handed to aiterator(). */
  query: (ds: DataSource) => SelectQueryBuilder<ObjectLiteral>
  /** The same query with the ordering the adapter follows spelled out (default: `query`). */
  expected?: (ds: DataSource) => SelectQueryBuilder<ObjectLiteral>
  id: (entity: ObjectLiteral) => unknown
  /** Strategies this shape applies to (default: all the dialect has). */
  strategies?: Strategy[]
  /**
   * What MariaDB does with this shape, when it differs: the same order spelled without `NULLS`
   * (which MariaDB cannot parse, so getMany() cannot run the query as written), or the error
   * aiterator() throws at the call because MariaDB has no cursor to fall back to.
   */
  mariadb?: { expected: (ds: DataSource) => SelectQueryBuilder<ObjectLiteral> } | { error: RegExp }
  /**
   * The query leaves the order of joined collections to the database (getMany() gives no
   * guarantee either): compare them sorted.
   */
  unorderedChildren?: boolean
}

/** Sorts each entity's collections (and relation id lists) by id, in place. */
function sortChildren(entities: ObjectLiteral[]): ObjectLiteral[] {
  const key = (v: unknown) => (typeof v === 'object' && v !== null ? (v as ObjectLiteral).id : v) as number
  for (const entity of entities) {
    for (const value of Object.values(entity)) if (Array.isArray(value)) value.sort((a, b) => key(a) - key(b))
  }
  return entities
}

const bookId = (b: ObjectLiteral) => b.id
const books = (ds: DataSource) => ds.getRepository(Book).createQueryBuilder('b')

const shapes: Shape[] = [
  {
    name: 'to-one join, ordered by a database column name',
    query: (ds) =>
      books(ds).leftJoinAndSelect('b.author', 'a').orderBy('b.published_at', 'DESC').addOrderBy('b.id', 'DESC'),
    id: bookId,
  },
  {
    name: 'one-to-many join ordered by the primary key, children by a non-unique column',
    query: (ds) =>
      ds
        .getRepository(Author)
        .createQueryBuilder('a')
        .leftJoinAndSelect('a.books', 'bk')
        .orderBy('a.id', 'DESC')
        .addOrderBy('bk.rating', 'ASC')
        .addOrderBy('bk.id', 'ASC'),
    id: (a) => a.id,
  },
  {
    name: 'many-to-many join filtered on the joined table',
    query: (ds) =>
      books(ds)
        .innerJoinAndSelect('b.tags', 't')
        .where('t.id <= :maxTag', { maxTag: 12 })
        .orderBy('b.publishedAt', 'DESC')
        .addOrderBy('b.id', 'DESC')
        .addOrderBy('t.id', 'ASC'),
    id: bookId,
  },
  {
    name: 'many-to-many and to-one joins together',
    query: (ds) =>
      books(ds)
        .leftJoinAndSelect('b.tags', 't')
        .leftJoinAndSelect('b.author', 'a')
        .orderBy('b.id', 'ASC')
        .addOrderBy('t.id', 'DESC'),
    id: bookId,
  },
  {
    name: "the user's OR stays bracketed",
    query: (ds) =>
      books(ds)
        .where('b.rating = :low OR b.rating = :high', { low: 1, high: 5 })
        .orderBy('b.publishedAt', 'ASC')
        .addOrderBy('b.id', 'ASC'),
    id: bookId,
  },
  {
    name: 'Brackets, orWhere and a parameter named like ours would be',
    query: (ds) =>
      books(ds)
        .where('b.rating = :p0', { p0: 5 })
        .orWhere(
          new Brackets((w) => w.where('b.rating = :by_p0', { by_p0: 1 }).andWhere('b.price < :cap', { cap: 40 })),
        )
        .orderBy('b.rating', 'ASC')
        .addOrderBy('b.id', 'ASC'),
    id: bookId,
  },
  {
    name: 'find options: where with OR, order and a many-to-many relation',
    query: (ds) =>
      books(ds).setFindOptions({
        where: [{ rating: 5 }, { rating: 2 }],
        order: { publishedAt: 'DESC', id: 'ASC' },
        relations: { tags: true },
      }),
    id: bookId,
    unorderedChildren: true,
  },
  {
    name: 'eager to-one and many-to-many relations (find options)',
    query: (ds) =>
      ds
        .getRepository(EagerBook)
        .createQueryBuilder('e')
        .setFindOptions({ order: { id: 'DESC' } }),
    id: (e) => e.id,
    unorderedChildren: true,
  },
  {
    name: "relations loaded by relationLoadStrategy 'query'",
    query: (ds) =>
      books(ds).setFindOptions({
        relations: { tags: true, author: true },
        relationLoadStrategy: 'query',
        order: { id: 'ASC' },
      }),
    id: bookId,
    unorderedChildren: true,
  },
  {
    name: 'embedded column order',
    query: (ds) =>
      ds.getRepository(Author).createQueryBuilder('a').orderBy('a.contact.name', 'ASC').addOrderBy('a.id', 'ASC'),
    id: (a) => a.id,
  },
  {
    name: 'relation id mapped by loadRelationIdAndMap',
    query: (ds) => books(ds).loadRelationIdAndMap('b.tagIdsMapped', 'b.tags').orderBy('b.id', 'DESC'),
    id: bookId,
  },
  {
    name: 'ORDER BY an expression (auto uses the cursor)',
    query: (ds) => books(ds).orderBy('LOWER(b.title)', 'DESC').addOrderBy('b.id', 'ASC'),
    id: bookId,
    strategies: ['cursor'],
    mariadb: {
      error:
        /strategy 'auto' cannot stream this query on MariaDB\/MySQL: ORDER BY LOWER\(b\.title\) is not a column of the root entity Book.*no server-side cursors/,
    },
  },
  {
    name: 'ORDER BY a column of a to-one join (auto uses the cursor)',
    query: (ds) =>
      books(ds).innerJoinAndSelect('b.author', 'a').orderBy('a.contact.name', 'ASC').addOrderBy('b.id', 'ASC'),
    id: bookId,
    strategies: ['cursor'],
    mariadb: {
      error:
        /strategy 'auto' cannot stream this query on MariaDB\/MySQL: ORDER BY a\.contact\.name is not a column of the root entity Book.*no server-side cursors/,
    },
  },
  {
    name: 'partial select of root columns (primary key not selected)',
    query: (ds) =>
      books(ds).select(['b.title', 'b.publishedAt']).orderBy('b.publishedAt', 'DESC').addOrderBy('b.id', 'DESC'),
    id: (b) => [b.title, b.publishedAt],
  },
  {
    name: 'take and skip without joins',
    query: (ds) => books(ds).orderBy('b.publishedAt', 'ASC').addOrderBy('b.id', 'ASC').skip(7).take(61),
    id: bookId,
  },
  {
    // (No order on the joined table here: getMany()'s own take() then counts (book, tag) pairs.)
    name: 'take and skip with a to-many join count entities',
    query: (ds) =>
      books(ds)
        .leftJoinAndSelect('b.tags', 't')
        .orderBy('b.publishedAt', 'DESC')
        .addOrderBy('b.id', 'ASC')
        .skip(11)
        .take(45),
    id: bookId,
    unorderedChildren: true,
  },
  {
    name: 'limit and offset without joins',
    query: (ds) => books(ds).orderBy('b.id', 'DESC').offset(3).limit(50),
    id: bookId,
  },
]

/** chunkSize smaller, equal and larger than batchYieldSize; batch size 1; batch larger than the table. */
const sizes = [
  { batchYieldSize: 50, chunkSize: 17 },
  { batchYieldSize: 32, chunkSize: 32 },
  { batchYieldSize: 7, chunkSize: 100 },
  { batchYieldSize: 1, chunkSize: 3 },
  { batchYieldSize: 100_000, chunkSize: 2000 },
]

const dialectsUnderTest: Dialect[] = ['postgres', 'mariadb']

for (const dialect of dialectsUnderTest) {
  describe(`shapes on ${dialect}`, () => {
    const db = useTestDatabase(dialect, { seed: true })
    let ds: DataSource
    beforeAll(async () => {
      ds = await openDataSource(dialect, db.url)
    })
    afterAll(async () => {
      await ds?.destroy()
    })
    const available: Strategy[] = dialect === 'postgres' ? ['keyset', 'cursor'] : ['keyset']

    for (const shape of shapes) {
      const onMariadb = dialect === 'mariadb' ? shape.mariadb : undefined
      if (onMariadb && 'error' in onMariadb) {
        it(`${shape.name}: no strategy on MariaDB, a KeysetOrderingError at the call`, () => {
          expect(() => aiterator(shape.query(ds))).toThrow(KeysetOrderingError)
          expect(() => aiterator(shape.query(ds))).toThrow(onMariadb.error)
          expect(() => aiterator(shape.query(ds), { strategy: 'cursor' })).toThrow(StrategyUnavailableError)
        })
        continue
      }
      const strategies = (shape.strategies ?? available).filter((s) => available.includes(s))
      describe(shape.name, () => {
        let expected: ObjectLiteral[]
        beforeAll(async () => {
          expected = await (onMariadb?.expected ?? shape.expected ?? shape.query)(ds).getMany()
          if (shape.unorderedChildren) sortChildren(expected)
          expect(expected.length).toBeGreaterThan(0)
        })
        for (const strategy of strategies) {
          it.each(sizes)(`${strategy}: batchYieldSize $batchYieldSize, chunkSize $chunkSize`, async (size) => {
            const batches = await collect(aiterator(shape.query(ds), { ...size, strategy }))
            if (shape.unorderedChildren) batches.forEach(sortChildren)
            expectBatches(batches, expected, size.batchYieldSize, shape.id)
          })
        }
        it('auto, one entity at a time', async () => {
          const items = await collect(aiterator(shape.query(ds), { chunkSize: 64 }))
          if (shape.unorderedChildren) sortChildren(items)
          expect(items).toStrictEqual(expected)
        })
      })
    }
  })
}
