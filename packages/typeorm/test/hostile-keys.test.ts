import { type Dialect, withConnection } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import type { DataSource, SelectQueryBuilder } from 'typeorm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { aiterator } from '../src/index.js'
import { collect, expectBatches } from './support/collect.js'
import { openDataSource } from './support/data-source.js'
import { Country } from './support/entities.js'

// Sort keys that would break SQL pasted together from values, or a naive string round trip:
// quotes, backslashes, comment starts and ends, statement separators, unicode (emoji with joiners,
// combining marks, right-to-left text and an RTL override) and, where the database stores it,
// NUL. They are seek values (bound parameters) and resume-token values; the result must be
// exactly getMany()'s. The fixture's countries already hold 24 such codes; these add more, and the
// `name` column gets hostile, partly duplicated values to sort by a non-unique string column.

const extraCodes = [
  "it's",
  "\\'",
  "\\\\'",
  "'; --",
  "' OR '1'='1",
  '*/',
  '/*',
  'a/*b*/c',
  '--',
  '-- x',
  ';',
  'x\\\\y',
  '\\n',
  'NULL',
  'null',
  'שלום',
  'مرحبا بالعالم',
  'abc \u202Eevil',
  'e\u0301\u0302',
  '👨‍👩‍👧 family',
  '🏳️‍🌈',
  '\u200Bzero-width',
  '%',
  '_',
  ':name',
  ':...list',
  '${x}',
]
/** PostgreSQL text cannot hold NUL (it rejects the value); MariaDB's varchar stores it. */
const nulCodes = ['nul\u0000byte', '\u0000lead']

const orders: { name: string; query: (ds: DataSource) => SelectQueryBuilder<Country>; expected: (ds: DataSource) => SelectQueryBuilder<Country> }[] = [
  { name: 'code ASC', query: (ds) => countries(ds).orderBy('c.code', 'ASC'), expected: (ds) => countries(ds).orderBy('c.code', 'ASC') },
  { name: 'code DESC', query: (ds) => countries(ds).orderBy('c.code', 'DESC'), expected: (ds) => countries(ds).orderBy('c.code', 'DESC') },
  {
    name: 'name ASC (non-unique string column), then code',
    query: (ds) => countries(ds).orderBy('c.name', 'ASC'),
    expected: (ds) => countries(ds).orderBy('c.name', 'ASC').addOrderBy('c.code', 'ASC'),
  },
  {
    name: 'name DESC, code ASC',
    query: (ds) => countries(ds).orderBy('c.name', 'DESC').addOrderBy('c.code', 'ASC'),
    expected: (ds) => countries(ds).orderBy('c.name', 'DESC').addOrderBy('c.code', 'ASC'),
  },
]

const countries = (ds: DataSource) => ds.getRepository(Country).createQueryBuilder('c')

for (const dialect of ['postgres', 'mariadb'] as Dialect[]) {
  describe(`hostile string keys on ${dialect}`, () => {
    const db = useTestDatabase(dialect, { seed: true })
    const codes = dialect === 'mariadb' ? [...extraCodes, ...nulCodes] : extraCodes
    let ds: DataSource
    beforeAll(async () => {
      const placeholders = dialect === 'postgres' ? '($1, $2, $3)' : '(?, ?, ?)'
      await withConnection(db.url, async (c) => {
        for (const [i, code] of codes.entries()) {
          await c.query(`INSERT INTO countries (code, name, population) VALUES ${placeholders}`, [code, codes[i % 9]!, i])
        }
        // Hostile, duplicated names on some fixture rows too.
        await c.query(`UPDATE countries SET name = code WHERE code LIKE ${dialect === 'postgres' ? '$1' : '?'}`, ['C00%'])
      })
      ds = await openDataSource(dialect, db.url)
    })
    afterAll(async () => {
      await ds?.destroy()
    })

    it('the table holds every hostile code, read back unchanged', async () => {
      const stored = (await countries(ds).getMany()).map((c) => c.code)
      for (const code of codes) expect(stored).toContain(code)
      expect(stored).toHaveLength(db.dataset.countries.length + codes.length)
    })

    if (dialect === 'postgres') {
      it('PostgreSQL rejects NUL in text, so NUL keys cannot exist there', async () => {
        await expect(withConnection(db.url, (c) => c.query('INSERT INTO countries (code, name, population) VALUES ($1, $2, 0)', [nulCodes[0], 'x']))).rejects.toThrow(
          /invalid byte sequence for encoding "UTF8": 0x00/,
        )
      })
    }

    describe.each(orders)('$name', ({ query, expected: expectedQuery }) => {
      let expected: Country[]
      beforeAll(async () => {
        expected = await expectedQuery(ds).getMany()
      })

      it.each([
        { batchYieldSize: 1, chunkSize: 1 },
        { batchYieldSize: 7, chunkSize: 3 },
        { batchYieldSize: 40, chunkSize: 64 },
      ])('keyset seeks, batchYieldSize $batchYieldSize, chunkSize $chunkSize, equal getMany()', async (size) => {
        const batches = await collect(aiterator(query(ds), { ...size, strategy: 'keyset' }))
        expectBatches(batches, expected, size.batchYieldSize, (c) => c.code)
      })

      it('a run resumed from the token of any entity continues exactly after it', async () => {
        const tokens: string[] = []
        const batches = await collect(aiterator(query(ds), { batchYieldSize: 1, chunkSize: 4, strategy: 'keyset', onProgress: (p) => void tokens.push(p.cursor!) }))
        expect(batches.flat()).toStrictEqual(expected)
        expect(tokens).toHaveLength(expected.length)
        for (const [i, token] of tokens.entries()) {
          const next = (await collect(aiterator(query(ds), { batchYieldSize: 3, limit: 3, after: token }))).flat()
          expect(next).toStrictEqual(expected.slice(i + 1, i + 4))
        }
      })
    })
  })
}
