/**
 * Hostile key values as keyset sort keys, shared by dialects: strings with quotes, backslashes,
 * `--`, `/*`, `;`, placeholders, unicode (emoji, combining marks, right-to-left text and
 * controls) and, where the database stores it (MariaDB; PostgreSQL text rejects it), NUL. They
 * sit in the string primary key `countries.code` and in the non-unique column `countries.name`.
 * Every row is a seek position (tiny chunks) and every hostile row's resume token is used: the
 * SQL never breaks and the result always equals `em.find`.
 */
import { type Dialect, hostileCountryCodes, withConnection } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import type { EntityManager, QueryOrderMap } from '@mikro-orm/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import '../../src/index.js'
import { Country } from '../entities.js'
import { collect, collectBatches, openOrm, type TestOrm, withTieBreaker } from '../support.js'

/** More than the fixture's codes: SQL comment ends, quote mixes, dollar quoting, RTL and bidi controls, combining marks, ZWJ emoji. */
const extraHostile: readonly string[] = [
  '*/',
  "\\'",
  "'\\",
  "' OR '1'='1",
  "'); DELETE FROM countries; --",
  '$$dollar$$',
  '\\x00',
  'שלום',
  'مرحبا',
  '\u202Eevil\u202C',
  'a\u200Fb',
  'e\u0301\u0302\u0303',
  '👩‍👩‍👧',
  '🏳️‍🌈',
]
/** NUL bytes: MariaDB's varchar keeps them; PostgreSQL text cannot hold them. */
const nulHostile: readonly string[] = ['nul\u0000byte', '\u0000', '\u0000\u0000x']

export function defineHostileKeysSuite(dialect: Dialect): void {
  const db = useTestDatabase(dialect, { seed: true })
  const added = dialect === 'mariadb' ? [...extraHostile, ...nulHostile] : extraHostile
  const hostile = new Set([...hostileCountryCodes, ...added])
  let t: TestOrm
  beforeAll(async () => {
    await withConnection(db.url, async (c) => {
      const p = (n: number) => (dialect === 'postgres' ? `$${n}` : '?')
      for (const [i, code] of added.entries()) {
        await c.query(`insert into countries (code, name, population) values (${p(1)}, ${p(2)}, ${p(3)})`, [code, code, 1000 + i])
      }
      // name: hostile values, many repeated (ties broken by the primary key)
      const names = [...hostile]
      const { countries } = db.dataset
      for (const [i, country] of countries.entries()) {
        await c.query(`update countries set name = ${p(1)} where code = ${p(2)}`, [names[i % names.length], country.code])
      }
    })
    t = openOrm(dialect, db.url)
  })
  afterAll(() => t?.close())

  const orderings: readonly [string, QueryOrderMap<Country> | QueryOrderMap<Country>[] | undefined][] = [
    ['code (the string primary key) ascending', undefined],
    ['code descending', { code: 'desc' }],
    ['name (non-unique) ascending', { name: 'asc' }],
    ['name descending, then population', [{ name: 'desc' }, { population: 'asc' }]],
  ]

  /** em.find's answer with the primary key appended to the order (in the last term's direction), as aiterator does. */
  async function reference(em: EntityManager, orderBy: (typeof orderings)[number][1]): Promise<string[]> {
    return (await em.fork().find(Country, {}, { orderBy: withTieBreaker(orderBy, ['code']) as never })).map((c) => c.code)
  }

  it('the hostile values are stored unchanged (the fixture and the extra ones)', async () => {
    const stored = new Set((await t.em.fork().find(Country, {})).map((c) => c.code))
    for (const code of hostile) expect(stored.has(code), JSON.stringify(code)).toBe(true)
    const names = new Set((await t.em.fork().find(Country, {})).map((c) => c.name))
    expect([...hostile].filter((code) => !names.has(code))).toEqual([])
  })

  for (const [name, orderBy] of orderings) {
    describe(`ordered by ${name}`, () => {
      it('every row a seek position (chunkSize 2): batches concatenate to em.find, each row once', async () => {
        const expected = await reference(t.em, orderBy)
        expect(expected.length).toBeGreaterThanOrEqual(db.dataset.countries.length + added.length)
        const before = t.queries.length
        const batches = await collectBatches(t.em.aiterator(Country, { orderBy, chunkSize: 2, batchYieldSize: 3 }))
        const actual = batches.flat().map((c) => c.code)
        expect(actual).toEqual(expected)
        // one seek per chunk: the hostile values really were bound into seek conditions
        expect(t.queries.length - before).toBeGreaterThanOrEqual(Math.ceil(expected.length / 2))
      })

      it("the resume token of every row with a hostile key resumes right after it", async () => {
        const expected = await reference(t.em, orderBy)
        const tokens: string[] = []
        const rows = await collect(t.em.aiterator(Country, { orderBy, chunkSize: 5, onProgress: (p) => tokens.push(p.cursor!) }))
        expect(rows.map((c) => c.code)).toEqual(expected)
        const positions = rows.map((row, i) => [row, i] as const).filter(([row]) => hostile.has(row.code) || hostile.has(row.name))
        expect(positions.length).toBeGreaterThanOrEqual(hostile.size)
        for (const [row, i] of positions) {
          const rest = (await collectBatches(t.em.aiterator(Country, { orderBy, after: tokens[i], chunkSize: 40, batchYieldSize: 40 }))).flat()
          expect(rest.map((c) => c.code), `resumed after ${JSON.stringify(row.code)} / ${JSON.stringify(row.name)}`).toEqual(expected.slice(i + 1))
        }
      })
    })
  }

  it('a where on a hostile value plus a seek over hostile keys: the same rows as em.find', async () => {
    const values = [...hostile].slice(0, 12)
    const expected = (await t.em.fork().find(Country, { name: { $in: values } }, { orderBy: [{ name: 'desc' }, { code: 'desc' }] })).map((c) => c.code)
    expect(expected.length).toBeGreaterThan(0)
    const actual = (await collectBatches(t.em.aiterator(Country, { where: { name: { $in: values } }, orderBy: { name: 'desc' }, chunkSize: 1, batchYieldSize: 4 }))).flat()
    expect(actual.map((c) => c.code)).toEqual(expected)
  })
}
