import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import type { DataSource } from 'typeorm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { aiterator } from '../src/index.js'
import { collect } from './support/collect.js'
import { openDataSource, QueryCounter } from './support/data-source.js'
import { Tag } from './support/entities.js'
import { WHOLE_CHUNKS } from './support/whole-chunks.js'

// With to-many joins a chunk's entities are loaded by their keys. A chunk of more than 10,000
// root keys is loaded in several slices (MariaDB: `IN (…)` lists) or one array parameter
// (PostgreSQL: `= ANY(…)`), so no chunkSize runs into a driver's parameter limit.

for (const dialect of ['postgres', 'mariadb'] as const) {
  describe(dialect, () => {
    const db = useTestDatabase(dialect, {
      seed: { counts: { authors: 1, books: 3, tags: 10_050, orderLines: 0, devices: 0, countries: 0 } },
    })
    const counter = new QueryCounter()
    let ds: DataSource
    beforeAll(async () => {
      ds = await openDataSource(dialect, db.url, { logger: counter })
    })
    afterAll(async () => {
      await ds?.destroy()
    })

    it('a chunk of 10,050 entities with a to-many join equals getMany()', async () => {
      const query = () =>
        ds
          .getRepository(Tag)
          .createQueryBuilder('t')
          .leftJoinAndSelect('t.books', 'b')
          .orderBy('t.id', 'DESC')
          .addOrderBy('b.id')
      const expected = await query().getMany()
      expect(expected).toHaveLength(10_050)
      counter.queries = []
      const batches = await collect(
        aiterator(query(), { batchYieldSize: 20_000, chunkSize: 20_000, strategy: 'keyset', ...WHOLE_CHUNKS }),
      )
      expect(batches).toHaveLength(1)
      expect(batches[0]).toStrictEqual(expected)
      const entityQueries = counter.queries.filter((sql) => /= ANY\(|IN \(/.test(sql))
      expect(entityQueries).toHaveLength(dialect === 'postgres' ? 1 : 2)
    })
  })
}
