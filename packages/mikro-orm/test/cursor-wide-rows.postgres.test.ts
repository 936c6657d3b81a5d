/**
 * maxChunkBytes with the cursor strategy: wide rows come a few at a time, whatever chunkSize says,
 * and the FETCH sent ahead (prefetch) asks for the engine's latest request, not for chunkSize.
 * What each round trip asked for is read from the SQL MikroORM logged (`fetch forward n`).
 */
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { defineEntity, p } from '@mikro-orm/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import '../src/index.js'
import { collectBatches, describeEntity, openOrm, type TestOrm } from './support.js'

const WideRowSchema = defineEntity({
  name: 'WideRow',
  tableName: 'wide_rows',
  properties: {
    id: p.integer().primary(),
    payload: p.text(),
  },
})
class WideRow extends WideRowSchema.class {}
WideRowSchema.setClass(WideRow)

const ROWS = 120
const WIDTH = 200_000

const db = useTestDatabase('postgres', { schema: false })
let t: TestOrm
beforeAll(async () => {
  t = openOrm('postgres', db.url, { entities: [WideRowSchema] })
  await t.orm.schema.create()
  for (let id = 1; id <= ROWS; id += 20) {
    await t.em
      .getConnection()
      .execute(
        'insert into wide_rows (id, payload) select g, repeat(chr(97 + g % 26), ?) from generate_series(?::int, ?::int) as g',
        [WIDTH, id, id + 19],
      )
  }
})
afterAll(() => t?.close())

/** The row counts the FETCHes asked for, in order. */
const requested = (): number[] => t.queries.flatMap((sql) => /^fetch forward (\d+)/i.exec(sql)?.[1] ?? []).map(Number)

describe("wide rows, strategy 'cursor'", () => {
  for (const populate of [undefined, ['id']] as const) {
    for (const prefetch of [0, 1]) {
      it(`${populate === undefined ? 'a plain read' : 'the key cursor (fields)'}, prefetch ${prefetch}: after the first batch each FETCH asks for what fits in maxChunkBytes; the entities equal em.find's`, async () => {
        const expected = await t.em.fork({ clear: true }).find(WideRow, {}, { orderBy: { id: 'asc' } })
        t.queries.length = 0
        const options = {
          orderBy: { id: 'asc' },
          strategy: 'cursor',
          prefetch,
          batchYieldSize: 25,
          chunkSize: 2000,
          maxChunkBytes: 2_000_000,
        } as const
        const got = (
          await collectBatches(
            t.em.aiterator(WideRow, populate === undefined ? options : { ...options, fields: ['id', 'payload'] }),
          )
        ).flat()
        expect(got.map(describeEntity).map((e) => e.values)).toEqual(expected.map(describeEntity).map((e) => e.values))
        const sizes = requested()
        expect(sizes[0]).toBe(25) // the first batch
        // a plain read sends the next FETCH before it creates the first chunk's entities, so before the
        // engine has seen a row: that one asks for the first request's size
        const sizedByWidth = populate === undefined && prefetch === 1 ? 2 : 1
        if (sizedByWidth === 2) expect(sizes[1]).toBe(25)
        const fit = Math.floor(2_000_000 / WIDTH)
        expect(Math.max(...sizes.slice(sizedByWidth))).toBeLessThanOrEqual(fit)
        expect(sizes.length).toBeGreaterThanOrEqual(Math.ceil((ROWS - 25) / fit))
      })
    }
  }

  it('the default bound (16 MiB) reads 200 kB rows well below chunkSize at a time; Infinity turns it off', async () => {
    t.queries.length = 0
    let rows = 0
    for await (const batch of t.em.aiterator(WideRow, { strategy: 'cursor', batchYieldSize: 10, chunkSize: 2000 }))
      rows += batch.length
    expect(rows).toBe(ROWS)
    const [first, ...rest] = requested()
    expect(first).toBe(10) // the first batch, read before any width is known
    // 16 MiB of 200 kB rows: 83 rows (a little fewer for the estimate's overhead), not 2000
    expect(Math.max(...rest)).toBeLessThanOrEqual(Math.floor((16 * 1024 * 1024) / WIDTH))
    expect(Math.max(...rest)).toBeGreaterThan(60)
    t.queries.length = 0
    for await (const batch of t.em.aiterator(WideRow, {
      strategy: 'cursor',
      batchYieldSize: 500,
      chunkSize: 2000,
      maxChunkBytes: Number.POSITIVE_INFINITY,
    }))
      rows += batch.length
    expect(requested()).toEqual([500])
  })
})
