import type { Dialect } from '@batchyield/test-fixtures'
import { defineResumeSuite } from '@batchyield/test-fixtures/conformance'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import type { DataSource, ObjectLiteral, SelectQueryBuilder } from 'typeorm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { aiterator } from '../src/index.js'
import { collect } from './support/collect.js'
import { typeormFixtureDriver } from './support/conformance-driver.js'
import { openDataSource } from './support/data-source.js'
import { Book } from './support/entities.js'

// Resuming a crashed run is the conformance scenario (@batchyield/test-fixtures/conformance); what is
// TypeORM's own is how skip() and take() of the query builder combine with `after`.

for (const dialect of ['postgres', 'mariadb'] as Dialect[]) {
  describe(`resume on ${dialect}`, () => {
    defineResumeSuite(typeormFixtureDriver(dialect))
  })

  describe(`skip() and take() with a resume token on ${dialect}`, () => {
    const db = useTestDatabase(dialect, { seed: true })
    let ds: DataSource
    beforeAll(async () => {
      ds = await openDataSource(dialect, db.url)
    })
    afterAll(async () => {
      await ds?.destroy()
    })

    it('skip() is not applied again on resume; take() counts within the run', async () => {
      const qb = () => ds.getRepository(Book).createQueryBuilder('b').orderBy('b.id').skip(10)
      const crash = new Error('simulated crash')
      let reported: string | undefined
      let token: string | undefined
      let batches = 0
      await expect(async () => {
        for await (const _ of aiterator(qb() as SelectQueryBuilder<ObjectLiteral>, {
          batchYieldSize: 5,
          chunkSize: 13,
          onProgress: (p) => (reported = p.cursor),
        })) {
          if (batches === 2) throw crash
          batches++
          token = reported
        }
      }).rejects.toBe(crash)
      const rest = await collect(aiterator(qb().take(3), { batchYieldSize: 5, after: token }))
      expect(rest.flat().map((b) => b.id)).toEqual([21, 22, 23])
    })
  })
}
