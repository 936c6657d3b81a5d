import { withConnection } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import type { DataSource } from 'typeorm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { aiterator, type Strategy } from '../src/index.js'
import { collect } from './support/collect.js'
import { openDataSource } from './support/data-source.js'
import { Note } from './support/entities.js'

// Soft-deleted rows stay out, as with getMany(), unless the query says withDeleted(). The notes
// table is local to this test file's database.

const db = useTestDatabase('postgres')
let ds: DataSource
beforeAll(async () => {
  await withConnection(db.url, async (c) => {
    await c.query('CREATE TABLE notes (id serial PRIMARY KEY, body varchar(100) NOT NULL, deleted_at timestamp NULL)')
    await c.query(
      "INSERT INTO notes (body, deleted_at) SELECT 'note ' || n, CASE WHEN n % 3 = 0 THEN timestamp '2024-01-01' + n * interval '1 hour' END FROM generate_series(1, 100) AS n",
    )
  })
  ds = await openDataSource('postgres', db.url)
})
afterAll(async () => {
  await ds?.destroy()
})

describe.each<Strategy>(['keyset', 'cursor'])('%s', (strategy) => {
  it('leaves soft-deleted rows out by default', async () => {
    const qb = () => ds.getRepository(Note).createQueryBuilder('n').orderBy('n.id')
    const expected = await qb().getMany()
    expect(expected).toHaveLength(67)
    expect((await collect(aiterator(qb(), { batchYieldSize: 10, chunkSize: 7, strategy }))).flat()).toStrictEqual(
      expected,
    )
  })

  it('includes them with withDeleted()', async () => {
    const qb = () =>
      ds
        .getRepository(Note)
        .createQueryBuilder('n')
        .withDeleted()
        .orderBy('n.deletedAt', 'DESC')
        .addOrderBy('n.id', 'DESC')
    const expected = await qb().getMany()
    expect(expected).toHaveLength(100)
    expect(expected.filter((n) => n.deletedAt !== null)).toHaveLength(33)
    expect((await collect(aiterator(qb(), { batchYieldSize: 10, chunkSize: 7, strategy }))).flat()).toStrictEqual(
      expected,
    )
  })
})
