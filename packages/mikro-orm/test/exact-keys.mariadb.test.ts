/**
 * MariaDB column types whose hydrated value is not what the database compares, as keyset sort keys:
 * each is sought with the exact value the key-type table reads for it (the server's text, or an
 * ENUM's index), so every run equals em.find row for row.
 */
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import '../src/index.js'
import {
  Circle,
  exactKeyOptions,
  expectKeysetEqualsFind,
  MariaKeyRow,
  seedExactKeys,
  Shape,
  Square,
} from './exact-keys-entities.js'
import { collectBatches, openOrm, pkOf, type TestOrm, withTieBreaker } from './support.js'

describe('MariaDB: keyset sort keys whose hydrated value is not what the database compares', () => {
  const db = useTestDatabase('mariadb', { schema: false })
  let t: TestOrm
  beforeAll(async () => {
    t = openOrm('mariadb', db.url, exactKeyOptions('mariadb'))
    await seedExactKeys(t.orm, 'mariadb', db.url)
  })
  afterAll(() => t?.close())

  const keys = [
    ["ENUM('zeta','alpha','mid') (sorted by declaration order, not as strings)", 'mood'],
    ["FLOAT (mysql2's number is not the stored float)", 'ratio'],
    ['DOUBLE with values one ulp apart (mysql2 parses 937.1679094620049 as its neighbour)', 'measure'],
    ['DECIMAL(30,10) hydrated as a JS number (neighbours collide)', 'amount'],
    ['JSON (hydrated as a parsed value)', 'doc'],
    ['BIT(1) (hydrated as a Buffer)', 'flag'],
    ['DATETIME(6) (hydrated as a millisecond Date)', 'at'],
  ] as const

  for (const [type, property] of keys) {
    for (const direction of ['asc', 'desc'] as const) {
      it(`${type}, ${direction}: every row once, in em.find's order, with chunkSize 1, 2, 3 and 7`, async () => {
        await expectKeysetEqualsFind(t.em, MariaKeyRow, { [property]: direction })
      })
    }
  }

  it('the hydrated values really are lossy: DECIMAL neighbours hydrate equal, FLOAT and DOUBLE differ from the stored value', async () => {
    const rows = await t.em.fork().find(MariaKeyRow, { id: { $lte: 3 } }, { orderBy: { id: 'asc' } })
    expect(rows[0]!.amount).toBe(rows[1]!.amount) // …0001 and …0002 beyond a double's precision
    const [stored] = await t.em
      .getConnection()
      .execute<{ ratio: string; measure: string }[]>(
        'select cast(cast(ratio as double) as char) as ratio, cast(measure as char) as measure from key_rows where id = 1',
      )
    expect(String(rows[0]!.ratio)).not.toBe(stored!.ratio)
    expect(String(rows[0]!.measure)).not.toBe(stored!.measure)
  })

  it('a resume token taken inside a run of ties on any of these keys resumes exactly', async () => {
    for (const [, property] of keys) {
      const options = {
        orderBy: { [property]: 'asc' } as never,
        strategy: 'keyset',
        chunkSize: 2,
        batchYieldSize: 3,
      } as const
      const tokens: string[] = []
      const full = (
        await collectBatches(t.em.aiterator(MariaKeyRow, { ...options, onProgress: (p) => tokens.push(p.cursor!) }))
      )
        .flat()
        .map(pkOf)
      for (const at of [0, 4, 9]) {
        const rest = (
          await collectBatches(t.em.aiterator(MariaKeyRow, { ...options, after: tokens[at], limit: full.length }))
        )
          .flat()
          .map(pkOf)
        expect([...full.slice(0, (at + 1) * 3), ...rest], `${property} after batch ${at + 1}`).toEqual(full)
      }
    }
  })

  it('one exact read per chunk for such keys, none when every key is exact as hydrated', async () => {
    const exactReads = (): number => t.queries.filter((sql) => sql.includes('__exact0')).length
    const before = exactReads()
    let chunks = 0
    await collectBatches(
      t.em.aiterator(MariaKeyRow, {
        orderBy: { amount: 'desc' },
        chunkSize: 7,
        batchYieldSize: 7,
        onProgress: (p) => (chunks = p.chunks),
      }),
    )
    expect(chunks).toBe(6)
    expect(exactReads() - before).toBe(chunks)
    await collectBatches(t.em.aiterator(MariaKeyRow, { orderBy: { id: 'desc' }, chunkSize: 7, batchYieldSize: 7 }))
    expect(exactReads() - before).toBe(chunks)
  })

  describe('single-table inheritance: the discriminator (ENUM on MariaDB) is a sort key like any other column', () => {
    for (const direction of ['asc', 'desc'] as const) {
      it(`Shape by kind ${direction} (ENUM('square','circle'): square sorts first)`, async () => {
        await expectKeysetEqualsFind(t.em, Shape, { kind: direction })
        const first = (
          await t.em.fork().find(Shape, {}, { orderBy: withTieBreaker({ kind: 'asc' }, ['id']) as never })
        )[0]!
        expect(first).toBeInstanceOf(Square)
      })
      it(`Circle (a subclass: kind = 'circle' is added to every chunk query) by kind then name ${direction}`, async () => {
        await expectKeysetEqualsFind(t.em, Circle, { kind: direction, name: direction })
      })
    }
  })
})
