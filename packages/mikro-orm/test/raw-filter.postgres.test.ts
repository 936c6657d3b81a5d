/**
 * A `raw()` condition in `where` is read by every statement of a run: MikroORM 6 registers a raw key for
 * one query only, so without a fresh fragment per statement the second chunk's query (the cursor's first
 * entity read) took the key for a property name.
 */
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { raw } from '@mikro-orm/core'
import { afterEach, describe, expect, it } from 'vitest'
import '../src/index.js'
import { Book } from './entities.js'
import { collectBatches, openOrm, type TestOrm } from './support.js'

const db = useTestDatabase('postgres', { seed: true })
let t: TestOrm | undefined
afterEach(async () => {
  await t?.close()
  t = undefined
})

describe.each(['keyset', 'cursor'] as const)("strategy '%s': a raw() condition in where", (strategy) => {
  it('holds for every chunk: the rows em.find returns for it, each once', async () => {
    t = openOrm('postgres', db.url)
    const expected = db.dataset.books.filter((b) => b.rating !== 3).map((b) => b.id)
    const batches = await collectBatches(
      t.em.aiterator(Book, { where: { [raw('(rating <> 3)')]: true }, strategy, chunkSize: 10, batchYieldSize: 10 }),
    )
    expect(batches.length).toBeGreaterThan(2)
    expect(batches.flat().map((b) => b.id)).toEqual(expected.sort((a, b) => a - b))
    // and em.find's own reading of the same condition (a fresh raw() key: MikroORM 6 uses one up per query)
    const found = await t.em.fork().find(Book, { [raw('(rating <> 3)')]: true }, { orderBy: { id: 'asc' } })
    expect(batches.flat().map((b) => b.id)).toEqual(found.map((b) => b.id))
  })
})
