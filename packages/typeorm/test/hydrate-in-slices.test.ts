import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { DataSource, type EntitySubscriberInterface, EventSubscriber } from 'typeorm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { aiterator } from '../src/index.js'
import { collect, expectBatches } from './support/collect.js'
import { openDataSource } from './support/data-source.js'
import { entities, Tag } from './support/entities.js'

// Cursor chunks of one row per entity, whose hydration sends no statements, are hydrated 500
// rows at a time with a turn of the event loop between slices (so a slow consumer's timers are
// not held up by a whole chunk's hydration). Same entities as getMany(), in the same order.

const db = useTestDatabase('postgres', { seed: { counts: { authors: 1, books: 3, tags: 2_345, orderLines: 0, devices: 0, countries: 0 } } })
let ds: DataSource
beforeAll(async () => {
  ds = await openDataSource('postgres', db.url)
})
afterAll(async () => {
  await ds?.destroy()
})
const tags = () => ds.getRepository(Tag).createQueryBuilder('t').orderBy('t.name', 'DESC').addOrderBy('t.id')

describe('cursor chunks larger than a hydration slice', () => {
  it.each([
    { batchYieldSize: 700, chunkSize: 1_100, prefetch: 1 },
    { batchYieldSize: 3_000, chunkSize: 2_345, prefetch: 0 },
    { batchYieldSize: 1, chunkSize: 1_001, prefetch: 2 },
  ])('batchYieldSize $batchYieldSize, chunkSize $chunkSize, prefetch $prefetch: equal getMany()', async (options) => {
    const expected = await tags().getMany()
    expect(expected).toHaveLength(2_345)
    const batches = await collect(aiterator(tags(), { ...options, strategy: 'cursor' }))
    expectBatches(batches, expected, options.batchYieldSize, (t) => t.id)
  })

  it('the event loop turns between the slices of a chunk after the first', async () => {
    // afterLoad runs as each slice is hydrated: note the event-loop turn it runs in.
    let turn = 0
    const turnOfEntity: number[] = []
    @EventSubscriber()
    class TurnWatcher implements EntitySubscriberInterface<Tag> {
      listenTo() {
        return Tag
      }
      afterLoad(): void {
        turnOfEntity.push(turn)
      }
    }
    const watched = await new DataSource({ type: 'postgres', url: db.url, entities, subscribers: [TurnWatcher], logging: false }).initialize()
    let counting = true
    const count = () => {
      turn++
      if (counting) setImmediate(count)
    }
    try {
      const iterator = aiterator(watched.getRepository(Tag).createQueryBuilder('t').orderBy('t.id'), { batchYieldSize: 1_000, chunkSize: 1_000, prefetch: 0, strategy: 'cursor' })
      await iterator.next() // the first chunk tells whether hydration sends statements (it does not)
      turnOfEntity.length = 0
      setImmediate(count)
      expect((await iterator.next()).value).toHaveLength(1_000)
      counting = false
      await iterator.return()
    } finally {
      await watched.destroy()
    }
    expect(new Set(turnOfEntity.slice(0, 500)).size).toBe(1)
    expect(new Set(turnOfEntity.slice(500)).size).toBe(1)
    expect(turnOfEntity[500]!).toBeGreaterThan(turnOfEntity[499]!)
  })
})
