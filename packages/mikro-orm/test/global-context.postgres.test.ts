import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import type { SqlEntityManager } from '@mikro-orm/sql'
import { expect, it } from 'vitest'
import '../src/index.js'
import { Book, Tag } from './entities.js'
import { collect, openOrm } from './support.js'

// The first run of this file's process is qb.aiterator on a query builder of the global EntityManager
// with MikroORM's default allowGlobalContext: false (what NestJS injects outside a request): the adapter's
// one-time detection of MikroORM's internals runs on that EntityManager, and must not touch its
// context-bound state (its getUnitOfWork() throws there).

const db = useTestDatabase('postgres', { seed: true })

it('qb.aiterator and em.aiterator run on the strict global orm.em, first run of the process included', async () => {
  const strict = openOrm('postgres', db.url, { allowGlobalContext: false })
  try {
    await expect(strict.em.find(Tag, {})).rejects.toThrow(/global EntityManager/)
    const expected = (await strict.em.fork().find(Book, {}, { orderBy: { id: 'asc' } })).map((b) => b.id)
    for (const strategy of ['keyset', 'cursor'] as const) {
      const viaQueryBuilder = await collect(
        (strict.em as SqlEntityManager)
          .createQueryBuilder(Book, 'b')
          .select('*')
          .orderBy({ id: 'asc' })
          .aiterator({ strategy, chunkSize: 2 }),
      )
      expect(viaQueryBuilder.map((b) => b.id)).toEqual(expected)
      const viaEm = await collect(strict.em.aiterator(Book, { strategy, chunkSize: 3, batchYieldSize: 4 }))
      expect(viaEm.flat().map((b) => b.id)).toEqual(expected)
    }
  } finally {
    await strict.close()
  }
})
