/**
 * The keyset strategy on a plain read, with read-ahead (`prefetch` >= 1): from the second chunk on,
 * the next chunk's SELECT goes out before the current chunk's entities are created, seeking from
 * the current chunk's last row. These tests check when the SELECTs go out, that the rows are still
 * em.find's, and that a sort key the row cannot stand for (a value object) turns read-ahead off.
 */
import { seedEvents } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { defineEntity, p, type Platform, Type } from '@mikro-orm/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import '../src/index.js'
import { entities, Event, EventSchema } from './entities.js'
import { collectBatches, describeEntity, openOrm, pkOf, type TestOrm } from './support.js'
import { WHOLE_CHUNKS } from './whole-chunks.js'

/** A SKU as a value object: each read makes a new one, so two reads of a row are equal only by value. */
class Sku {
  constructor(readonly code: string) {}
}
class SkuType extends Type<Sku, string> {
  override convertToDatabaseValue(value: Sku | string): string {
    return value instanceof Sku ? value.code : value
  }
  override convertToJSValue(value: string): Sku {
    return new Sku(value)
  }
  override getColumnType(): string {
    return 'varchar(64)'
  }
  override compareAsType(): string {
    return 'string'
  }
  override ensureComparable(): boolean {
    return false
  }
  override convertToJSValueSQL(key: string, _platform: Platform): string {
    return key
  }
}

const SkuLineSchema = defineEntity({
  name: 'SkuLine',
  tableName: 'order_lines',
  properties: {
    orderId: p.integer().primary(),
    lineNo: p.integer().primary(),
    sku: p.type(SkuType).fieldName('sku'),
    quantity: p.integer(),
  },
})
class SkuLine extends SkuLineSchema.class {}
SkuLineSchema.setClass(SkuLine)

const db = useTestDatabase('postgres', { seed: true })
let t: TestOrm
let skus: TestOrm
/** Called on each Event entity created, while a test listens. */
let onEventInit: (() => void) | undefined
/** For each SkuLine entity created: how many SELECTs had gone out. */
const skuSelectsAtCreate: number[] = []
beforeAll(async () => {
  await seedEvents(db.url, 1_000)
  t = openOrm('postgres', db.url, { entities: [...entities, EventSchema] })
  t.em.getEventManager().registerSubscriber({ getSubscribedEntities: () => [Event], onInit: () => onEventInit?.() })
  skus = openOrm('postgres', db.url, { entities: [SkuLineSchema] })
  skus.em.getEventManager().registerSubscriber({
    getSubscribedEntities: () => [SkuLine],
    onInit: () => void skuSelectsAtCreate.push(selects(skus.queries).length),
  })
})
afterAll(async () => {
  await t?.close()
  await skus?.close()
})

/** The chunk queries (MikroORM's first query of a connection pool checks the database with a SELECT of its own). */
const selects = (queries: readonly string[]): string[] =>
  queries.filter((sql) => /^select .* from "(events|order_lines)"/i.test(sql))

describe("strategy 'keyset', a plain read with read-ahead", () => {
  it.each([0, 1])(
    'prefetch %i: a chunk’s entities are created before (0) or after (1) the next SELECT goes out, from the second chunk on',
    async (prefetch) => {
      const selectsAtCreate: number[] = []
      onEventInit = () => void selectsAtCreate.push(selects(t.queries).length)
      try {
        t.queries.length = 0
        const events = (
          await collectBatches(
            t.em.aiterator(Event, {
              strategy: 'keyset',
              chunkSize: 300,
              batchYieldSize: 300,
              prefetch,
              ...WHOLE_CHUNKS,
            }),
          )
        ).flat()
        expect(events).toHaveLength(1_000)
        // SELECT n reads chunk n (300, 300, 300, 100). The first chunk checks that rows convert to
        // their entities' keys before any read-ahead; after it, chunk n's entities come after SELECT n + 1.
        const expected = events.map((_, i) => {
          const chunk = Math.floor(i / 300) + 1
          return chunk + (prefetch === 1 && chunk > 1 && chunk < 4 ? 1 : 0)
        })
        expect(selectsAtCreate).toEqual(expected)
        expect(selects(t.queries)).toHaveLength(4)
      } finally {
        onEventInit = undefined
      }
    },
  )

  it('a limit that ends inside a chunk read ahead: exactly em.find’s entities, the rows beyond it never yielded', async () => {
    const expected = await t.em
      .fork({ clear: true })
      .find(Event, {}, { orderBy: { kind: 'desc', id: 'desc' }, limit: 750 })
    t.queries.length = 0
    const batches = await collectBatches(
      t.em.aiterator(Event, {
        strategy: 'keyset',
        orderBy: { kind: 'desc' },
        chunkSize: 300,
        batchYieldSize: 70,
        prefetch: 1,
        limit: 750,
        ...WHOLE_CHUNKS,
      }),
    )
    const actual = batches.flat()
    expect(actual.map(describeEntity)).toEqual(expected.map(describeEntity))
    batches.slice(0, -1).forEach((batch) => expect(batch).toHaveLength(70))
    expect(actual).toHaveLength(750)
    // the engine's first chunk is one batch (70); then 300, 300 (read ahead), 300 (read ahead; the
    // limit takes 80 of it): no fifth
    expect(selects(t.queries)).toHaveLength(4)
  })

  it('a sort key read as a value object (a custom type): every row once in em.find’s order, seeking from entities, nothing read ahead', async () => {
    const expected = await skus.em
      .fork({ clear: true })
      .find(SkuLine, {}, { orderBy: [{ sku: 'asc' }, { orderId: 'asc' }, { lineNo: 'asc' }] })
    expect(expected.length).toBeGreaterThan(40)
    expect(expected[0]!.sku).toBeInstanceOf(Sku)
    skus.queries.length = 0
    skuSelectsAtCreate.length = 0
    const actual = (
      await collectBatches(
        skus.em.aiterator(SkuLine, {
          strategy: 'keyset',
          orderBy: { sku: 'asc' },
          chunkSize: 13,
          batchYieldSize: 13,
          prefetch: 1,
          ...WHOLE_CHUNKS,
        }),
      )
    ).flat()
    expect(actual.map(pkOf)).toEqual(expected.map(pkOf))
    expect(actual.map((line) => (line.sku as Sku).code)).toEqual(expected.map((line) => (line.sku as Sku).code))
    // chunk n's entities are created after SELECT n and before SELECT n + 1: nothing read ahead
    expect(skuSelectsAtCreate).toEqual(actual.map((_, i) => Math.floor(i / 13) + 1))
  })
})
