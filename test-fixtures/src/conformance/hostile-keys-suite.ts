/**
 * Hostile key values as keyset sort keys: strings with quotes, backslashes, comment starts and ends,
 * statement separators, placeholders, unicode (emoji with joiners, combining marks, right-to-left
 * text and controls, zero-width characters) and, where the database stores it (MariaDB; PostgreSQL
 * text rejects it), NUL. They sit in the string primary key `countries.code` and, repeated, in the
 * non-unique `countries.name`. Every row is a seek position (chunks of 1 and 2) and every row's resume
 * token is used: the SQL never breaks and the result always equals the reference query's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { withConnection } from '#src/connection'
import { collect, expectBatches, expectSameEntities } from '#src/conformance/expect-entities'
import {
  type FixtureDriver,
  type FixtureOrm,
  type FixtureQuery,
  type SortTerm,
  withPrimaryKey,
} from '#src/conformance/fixture-driver'
import { hostileCountryCodes } from '#src/dataset'
import { useTestDatabase } from '#src/vitest'

/** More than the fixture's codes: SQL comment ends, quote mixes, placeholders, dollar quoting, RTL and bidi controls, combining marks, ZWJ emoji. */
export const extraHostileKeys: readonly string[] = [
  "it's",
  "\\'",
  "\\\\'",
  "'\\",
  "'; --",
  "' OR '1'='1",
  "'); DELETE FROM countries; --",
  '*/',
  '/*',
  'a/*b*/c',
  '--',
  '-- x',
  ';',
  'x\\\\y',
  '\\n',
  '\\x00',
  'NULL',
  'null',
  '$$dollar$$',
  'שלום',
  'مرحبا بالعالم',
  'abc \u202Eevil',
  '\u202Eevil\u202C',
  'a\u200Fb',
  'e\u0301\u0302',
  'e\u0301\u0302\u0303',
  '👨‍👩‍👧 family',
  '👩‍👩‍👧',
  '🏳️‍🌈',
  '\u200Bzero-width',
  '%',
  '_',
  ':name',
  ':...list',
  '${x}',
]

/** NUL bytes: MariaDB's varchar keeps them; PostgreSQL text cannot hold them. */
export const nulHostileKeys: readonly string[] = ['nul\u0000byte', '\u0000lead', '\u0000', '\u0000\u0000x']

const orderings: readonly { readonly name: string; readonly orderBy?: readonly SortTerm[] }[] = [
  { name: 'no order (the string primary key)' },
  { name: 'code ASC', orderBy: [{ column: 'code', direction: 'asc' }] },
  { name: 'code DESC', orderBy: [{ column: 'code', direction: 'desc' }] },
  { name: 'name ASC (non-unique), then code', orderBy: [{ column: 'name', direction: 'asc' }] },
  {
    name: 'name DESC, code ASC',
    orderBy: [
      { column: 'name', direction: 'desc' },
      { column: 'code', direction: 'asc' },
    ],
  },
  {
    name: 'name DESC, population ASC',
    orderBy: [
      { column: 'name', direction: 'desc' },
      { column: 'population', direction: 'asc' },
    ],
  },
]

/**
 * Registers the hostile-keys scenario for `driver`: a seeded database whose `countries` get the extra
 * hostile codes (and, on MariaDB, NUL ones) and hostile, repeated names.
 */
export function defineHostileKeysSuite(driver: FixtureDriver): void {
  const { dialect } = driver
  const db = useTestDatabase(dialect, { seed: true })
  const p = (n: number): string => (dialect === 'postgres' ? `$${n}` : '?')
  let added: string[]
  let hostile: Set<string>
  let orm: FixtureOrm
  beforeAll(async () => {
    const fixtureCodes = new Set(db.dataset.countries.map((country) => country.code))
    added = [...extraHostileKeys, ...(dialect === 'mariadb' ? nulHostileKeys : [])].filter(
      (code) => !fixtureCodes.has(code),
    )
    hostile = new Set([...hostileCountryCodes, ...added])
    const names = [...hostile]
    await withConnection(db.url, async (c) => {
      // the added rows: names repeat every 9 codes
      for (const [i, code] of added.entries()) {
        await c.query(`INSERT INTO countries (code, name, population) VALUES (${p(1)}, ${p(2)}, ${p(3)})`, [
          code,
          added[i % 9],
          i,
        ])
      }
      // the fixture rows: hostile names, each on several rows
      for (const [i, country] of db.dataset.countries.entries()) {
        await c.query(`UPDATE countries SET name = ${p(1)} WHERE code = ${p(2)}`, [
          names[i % names.length],
          country.code,
        ])
      }
    })
    orm = await driver.open(db.url)
  })
  afterAll(async () => {
    await orm?.close()
  })

  it('the table holds every hostile code and name, read back unchanged', async () => {
    const stored = await orm.find({ table: 'countries', orderBy: [{ column: 'code', direction: 'asc' }] })
    expect(stored).toHaveLength(db.dataset.countries.length + added.length)
    const codes = new Set(stored.map((country) => orm.valueOf(country, 'code') as string))
    const names = new Set(stored.map((country) => orm.valueOf(country, 'name') as string))
    expect([...hostile].filter((code) => !codes.has(code)).map((code) => JSON.stringify(code))).toEqual([])
    expect([...hostile].filter((code) => !names.has(code)).map((code) => JSON.stringify(code))).toEqual([])
  })

  if (dialect === 'postgres') {
    it('PostgreSQL rejects NUL in text, so NUL keys cannot exist there', async () => {
      await expect(
        withConnection(db.url, (c) =>
          c.query('INSERT INTO countries (code, name, population) VALUES ($1, $2, 0)', [nulHostileKeys[0], 'x']),
        ),
      ).rejects.toThrow(/invalid byte sequence for encoding "UTF8": 0x00/)
    })
  }

  for (const { name, orderBy } of orderings) {
    describe(`ordered by ${name}`, () => {
      const query: FixtureQuery = { table: 'countries', ...(orderBy ? { orderBy } : {}) }

      it.each([
        { batchYieldSize: 1, chunkSize: 1 },
        { batchYieldSize: 3, chunkSize: 2 },
        { batchYieldSize: 7, chunkSize: 3 },
        { batchYieldSize: 40, chunkSize: 64 },
      ])(
        'keyset, batchYieldSize $batchYieldSize, chunkSize $chunkSize: the reference sequence, one seek per chunk',
        async (sizes) => {
          const expected = await orm.find(withPrimaryKey(query))
          const before = orm.statements()
          const batches = (await collect(orm.aiterator(query, { ...sizes, strategy: 'keyset' }))) as object[][]
          expectBatches(orm, batches, expected, sizes.batchYieldSize)
          // one statement per chunk at least: the hostile values really were bound into seek conditions
          expect(orm.statements() - before).toBeGreaterThanOrEqual(Math.ceil(expected.length / sizes.chunkSize))
        },
      )

      it('a run resumed from the token of any entity continues with the next three', async () => {
        const expected = await orm.find(withPrimaryKey(query))
        const tokens: string[] = []
        const batches = (await collect(
          orm.aiterator(query, {
            batchYieldSize: 1,
            chunkSize: 4,
            strategy: 'keyset',
            onProgress: (p) => void tokens.push(p.cursor!),
          }),
        )) as object[][]
        expectSameEntities(orm, batches.flat(), expected)
        expect(tokens).toHaveLength(expected.length)
        for (const [i, token] of tokens.entries()) {
          const next = (
            (await collect(orm.aiterator(query, { batchYieldSize: 3, limit: 3, after: token }))) as object[][]
          ).flat()
          expectSameEntities(orm, next, expected.slice(i + 1, i + 4))
        }
      })

      it('the token of every row with a hostile code or name resumes, to the end, right after it', async () => {
        const expected = await orm.find(withPrimaryKey(query))
        const tokens: string[] = []
        const rows = (await collect(
          orm.aiterator(query, { chunkSize: 5, onProgress: (p) => void tokens.push(p.cursor!) }),
        )) as object[]
        expectSameEntities(orm, rows, expected)
        const positions = rows
          .map(
            (row, i) =>
              [{ code: orm.valueOf(row, 'code') as string, name: orm.valueOf(row, 'name') as string }, i] as const,
          )
          .filter(([row]) => hostile.has(row.code) || hostile.has(row.name))
        expect(positions.length).toBeGreaterThanOrEqual(hostile.size)
        for (const [row, i] of positions) {
          const rest = (
            (await collect(orm.aiterator(query, { after: tokens[i], chunkSize: 40, batchYieldSize: 40 }))) as object[][]
          ).flat()
          expect(
            rest.map((entity) => orm.keyOf(entity)),
            `resumed after ${JSON.stringify(row.code)} / ${JSON.stringify(row.name)}`,
          ).toEqual(expected.slice(i + 1).map((entity) => orm.keyOf(entity)))
        }
      })
    })
  }

  it('a where on hostile values plus a seek over hostile keys (chunkSize 1): the reference sequence', async () => {
    const query: FixtureQuery = {
      table: 'countries',
      whereIn: { column: 'name', values: [...hostile].slice(0, 12) },
      orderBy: [{ column: 'name', direction: 'desc' }],
    }
    const expected = await orm.find(withPrimaryKey(query))
    expect(expected.length).toBeGreaterThan(12)
    const batches = (await collect(orm.aiterator(query, { chunkSize: 1, batchYieldSize: 4 }))) as object[][]
    expectBatches(orm, batches, expected, 4)
  })
}
