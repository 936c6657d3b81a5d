import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { DataSource } from 'typeorm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HYDRATION_SLICE_ROWS } from '../src/hydrate.js'
import { aiterator, type Strategy } from '../src/index.js'
import { collect, expectBatches } from './support/collect.js'
import { openDataSource } from './support/data-source.js'
import { entities, Tag } from './support/entities.js'
import { tagLoadWatcher } from './support/load-watcher.js'

// Chunks of one row per entity whose hydration sends no statements (known from the first chunk)
// are hydrated HYDRATION_SLICE_ROWS rows at a time with a turn of the event loop between slices, so a slow
// consumer's timers are not held up by a whole chunk's hydration. Same entities as getMany(), in
// the same order, and afterLoad subscribers still see each of them.

for (const dialect of ['postgres', 'mariadb'] as const) {
  describe(dialect, () => {
    const db = useTestDatabase(dialect, {
      seed: { counts: { authors: 1, books: 3, tags: 2_345, orderLines: 0, devices: 0, countries: 0 } },
    })
    let ds: DataSource
    beforeAll(async () => {
      ds = await openDataSource(dialect, db.url)
    })
    afterAll(async () => {
      await ds?.destroy()
    })
    const tags = () => ds.getRepository(Tag).createQueryBuilder('t').orderBy('t.name', 'DESC').addOrderBy('t.id')
    const strategies: Strategy[] = dialect === 'postgres' ? ['keyset', 'cursor'] : ['keyset']

    for (const strategy of strategies) {
      it.each([
        { batchYieldSize: 700, chunkSize: 1_100, prefetch: 1 },
        { batchYieldSize: 3_000, chunkSize: 2_345, prefetch: 0 },
        { batchYieldSize: 1, chunkSize: 1_001, prefetch: 2 },
      ])(
        `${strategy}: batchYieldSize $batchYieldSize, chunkSize $chunkSize, prefetch $prefetch: equal getMany()`,
        async (options) => {
          const expected = await tags().getMany()
          expect(expected).toHaveLength(2_345)
          const batches = await collect(aiterator(tags(), { ...options, strategy }))
          expectBatches(batches, expected, options.batchYieldSize, (t) => t.id)
        },
      )

      it(`${strategy}: the event loop turns between the slices of a chunk after the first`, async () => {
        // afterLoad runs as each slice is hydrated: note the event-loop turn it runs in.
        let turn = 0
        const turnOfEntity: number[] = []
        const TurnWatcher = tagLoadWatcher(() => turnOfEntity.push(turn))
        const type = dialect === 'postgres' ? 'postgres' : 'mariadb'
        const watched = await new DataSource({
          type,
          url: db.url,
          entities,
          subscribers: [TurnWatcher],
          logging: false,
        }).initialize()
        let counting = true
        const count = () => {
          turn++
          if (counting) setImmediate(count)
        }
        try {
          const query = watched.getRepository(Tag).createQueryBuilder('t').orderBy('t.id')
          const iterator = aiterator(query, { batchYieldSize: 1_000, chunkSize: 1_000, prefetch: 0, strategy })
          await iterator.next() // the first chunk tells whether hydration sends statements (it does not)
          turnOfEntity.length = 0
          setImmediate(count)
          expect((await iterator.next()).value).toHaveLength(1_000)
          counting = false
          await iterator.return()
        } finally {
          await watched.destroy()
        }
        expect(turnOfEntity).toHaveLength(1_000)
        // each slice in one turn, each next slice in a later turn
        const slice = HYDRATION_SLICE_ROWS
        expect(slice).toBeLessThan(1_000)
        for (let start = 0; start < 1_000; start += slice) {
          expect(new Set(turnOfEntity.slice(start, start + slice)).size).toBe(1)
          if (start > 0) expect(turnOfEntity[start]!).toBeGreaterThan(turnOfEntity[start - 1]!)
        }
      })
    }
  })
}
