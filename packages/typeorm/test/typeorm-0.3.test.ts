import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import type { DataSource, SelectQueryBuilder } from 'typeorm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hydrationSendsStatements } from '../src/internals.js'
import { aiterator, type Strategy } from '../src/index.js'
import { collect, expectBatches } from './support/collect.js'
import { openDataSource } from './support/data-source.js'
import { Author } from './support/entities.js'

// TypeORM 0.3 only (the `typeorm 0.3` project of vitest.config.ts): loadRelationCountAndMap(), which
// TypeORM 1.0 removed, counts with statements of its own while hydrating, so no read goes ahead of it.

/** TypeORM 0.3's query builder (the typings are TypeORM 1.1's). */
type CountingBuilder = SelectQueryBuilder<Author> & {
  loadRelationCountAndMap(property: string, relation: string): SelectQueryBuilder<Author>
}

const db = useTestDatabase('postgres', { seed: true })

describe('loadRelationCountAndMap() on TypeORM 0.3', () => {
  let dataSource: DataSource
  beforeAll(async () => {
    dataSource = await openDataSource('postgres', db.url)
  })
  afterAll(async () => {
    await dataSource?.destroy()
  })
  const authors = () =>
    (dataSource.getRepository(Author).createQueryBuilder('a') as CountingBuilder)
      .loadRelationCountAndMap('a.bookCount', 'a.books')
      .orderBy('a.createdAt', 'DESC')

  it('hydration is known to send statements', async () => {
    const query = authors()
    await query.getMany()
    expect(hydrationSendsStatements(query)).toBe(true)
  })

  for (const strategy of ['keyset', 'cursor'] satisfies Strategy[]) {
    it(`${strategy}: the same entities and counts as getMany()`, async () => {
      const expected = await authors().addOrderBy('a.id', 'DESC').getMany()
      expect(expected.some((author) => (author as { bookCount?: number }).bookCount! > 0)).toBe(true)
      expectBatches(
        await collect(aiterator(authors(), { strategy, batchYieldSize: 3, chunkSize: 4 })),
        expected,
        3,
        (a) => a.id,
      )
    })
  }
})
