import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { type DataSource, SelectQueryBuilder } from 'typeorm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { forgetDetectedPaths, pathsOf } from '../src/internals.js'
import { aiterator, type Strategy } from '../src/index.js'
import { collect, expectBatches } from './support/collect.js'
import { openDataSource, QueryCounter } from './support/data-source.js'
import { Author, Book } from './support/entities.js'

// A TypeORM release whose internals do not match what the fast paths override: here, one whose
// executeEntitiesAndRawResults() reads the rows without asking the query's own loadRawResults(), and
// one whose getRawAndEntities() does not go through executeEntitiesAndRawResults(). The probes at
// first use find it, the run takes TypeORM's public API, and no statement reads more than a chunk.

type Internals = Record<string, (this: Record<string, unknown>, ...args: unknown[]) => Promise<unknown>>
const proto = SelectQueryBuilder.prototype as unknown as Internals

/** Makes TypeORM ignore an override of `hook` on the instance while `method` runs. */
function ignoreOverride(method: string, hook: string): () => void {
  const original = proto[method]!
  proto[method] = async function (this: Record<string, unknown>, ...args: unknown[]) {
    const own = Object.getOwnPropertyDescriptor(this, hook)
    if (own !== undefined) delete this[hook]
    try {
      return await original.apply(this, args)
    } finally {
      if (own !== undefined) Object.defineProperty(this, hook, own)
    }
  }
  return () => {
    proto[method] = original
  }
}

/** A SELECT that can read the whole books table: no LIMIT, no key list, not the probes' `1 = 0`. */
function unbounded(statement: string): boolean {
  return /^\s*SELECT .* FROM "books"/is.test(statement) && !/ LIMIT |1 = 0| = ANY\(/.test(statement)
}

const db = useTestDatabase('postgres', { seed: true })

for (const { ignored, paths } of [
  { ignored: ['executeEntitiesAndRawResults', 'loadRawResults'], paths: { keyset: 'public', cursor: 'public' } },
  { ignored: ['getRawAndEntities', 'executeEntitiesAndRawResults'], paths: { keyset: 'public', cursor: 'fast' } },
] as const) {
  describe(`a TypeORM whose ${ignored[0]}() ignores an override of ${ignored[1]}()`, () => {
    let dataSource: DataSource
    const counter = new QueryCounter()
    let restore: () => void
    beforeAll(async () => {
      dataSource = await openDataSource('postgres', db.url, { logger: counter })
      restore = ignoreOverride(ignored[0], ignored[1])
      forgetDetectedPaths()
    })
    afterAll(async () => {
      restore?.()
      forgetDetectedPaths()
      await dataSource?.destroy()
    })

    it(`is found by the probes at first use: keyset ${paths.keyset}, cursor ${paths.cursor}`, async () => {
      expect(await pathsOf(dataSource.getRepository(Book).createQueryBuilder('b'))).toEqual(paths)
    })

    for (const strategy of ['keyset', 'cursor'] satisfies Strategy[]) {
      it(`${strategy}: the same entities as getMany(), and no statement reads more than a chunk`, async () => {
        const books = () =>
          dataSource
            .getRepository(Book)
            .createQueryBuilder('b')
            .leftJoinAndSelect('b.author', 'a')
            .where('b.rating >= :r OR b.price < :p', { r: 3, p: 20 })
            .orderBy('b.publishedAt', 'DESC')
        const expected = await books().addOrderBy('b.id', 'DESC').getMany()
        expect(expected.length).toBeGreaterThan(20)
        counter.queries = []
        expectBatches(
          await collect(aiterator(books(), { strategy, batchYieldSize: 7, chunkSize: 9 })),
          expected,
          7,
          (b) => b.id,
        )
        expect(counter.queries.filter(unbounded)).toEqual([])
      })

      it(`${strategy}: to-many joins: the same entities as getMany()`, async () => {
        const authors = () =>
          dataSource
            .getRepository(Author)
            .createQueryBuilder('a')
            .leftJoinAndSelect('a.books', 'b')
            .orderBy('a.createdAt')
            .addOrderBy('a.id')
            .addOrderBy('b.id')
        const expected = await authors().getMany()
        expectBatches(
          await collect(aiterator(authors(), { strategy, batchYieldSize: 4, chunkSize: 5 })),
          expected,
          4,
          (a) => a.id,
        )
      })
    }
  })
}
