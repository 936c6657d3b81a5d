import { withConnection } from '@batchyield/test-fixtures'
import {
  createTypeMatrix,
  matrixColumns,
  matrixRows,
  nextDouble,
  nextFloat32,
  typeMatrix,
  typeMatrixTable,
} from '@batchyield/test-fixtures/conformance'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { describe, expect, it } from 'vitest'

describe('ulp neighbours', () => {
  it('nextDouble steps one double up or down, for either sign', () => {
    expect(nextDouble(0.3)).toBe(0.30000000000000004)
    expect(nextDouble(0.3, -1)).toBe(0.29999999999999993)
    expect(nextDouble(-0.3)).toBe(-0.29999999999999993)
    expect(nextDouble(nextDouble(937.1679094620049), -1)).toBe(937.1679094620049)
    expect(() => nextDouble(0)).toThrow(RangeError)
  })

  it('nextFloat32 steps one float32: the result is a float32 and nothing lies between', () => {
    for (const x of [0.3, 937.1679, -1.5]) {
      const [below, at, above] = [nextFloat32(x, -1), Math.fround(x), nextFloat32(x, 1)]
      expect(Math.fround(below)).toBe(below)
      expect(Math.fround(above)).toBe(above)
      expect(below).toBeLessThan(at)
      expect(above).toBeGreaterThan(at)
      expect([at, above]).toContain(Math.fround((at + above) / 2))
    }
  })
})

describe('the type matrix table', () => {
  for (const dialect of ['postgres', 'mariadb'] as const) {
    it(`${dialect}: column and property names are unique, every pool has at least two values`, () => {
      const columns = matrixColumns(dialect)
      expect(new Set(columns.map((c) => c.column)).size).toBe(columns.length)
      expect(new Set(columns.map((c) => c.property)).size).toBe(columns.length)
      for (const column of columns) expect(new Set(column.values).size, column.column).toBeGreaterThanOrEqual(2)
    })
  }

  it('refuses only on PostgreSQL, and only types the database cannot order', () => {
    const refused = typeMatrix.filter((c) => c.keyset === 'refused')
    expect(refused.map((c) => `${c.dialect}.${c.sqlType}`)).toEqual(['postgres.json', 'postgres.xml', 'postgres.point'])
    expect(refused.every((c) => c.unorderable)).toBe(true)
  })
})

describe('matrixRows', () => {
  it('is deterministic per seed', () => {
    expect(matrixRows('postgres')).toEqual(matrixRows('postgres'))
    expect(matrixRows('mariadb', { seed: 3 })).not.toEqual(matrixRows('mariadb', { seed: 4 }))
  })

  for (const dialect of ['postgres', 'mariadb'] as const) {
    it(`${dialect}: every column holds its whole pool, at least 4 NULLs and repeated values`, () => {
      const rows = matrixRows(dialect)
      expect(rows.map((row) => row.id)).toEqual(Array.from({ length: 90 }, (_, i) => i + 1))
      for (const column of matrixColumns(dialect)) {
        const values = rows.map((row) => row.values[column.column])
        for (const value of column.values)
          expect(values, `${column.column} holds ${JSON.stringify(value)}`).toContain(value)
        expect(values.filter((v) => v === null).length, column.column).toBeGreaterThanOrEqual(4)
        const present = values.filter((v) => v !== null)
        expect(new Set(present).size, column.column).toBeLessThan(present.length)
      }
    })
  }

  it('refuses a row count that cannot hold every pool value and the NULLs', () => {
    expect(() => matrixRows('postgres', { rows: 10 })).toThrow(/rows must be an integer of at least \d+/)
  })
})

describe.each(['postgres', 'mariadb'] as const)('createTypeMatrix on %s', (dialect) => {
  const db = useTestDatabase(dialect, { schema: false })

  it('stores every row, NULLs where the rows say, and keeps float neighbours one ulp apart distinct', async () => {
    const rows = await createTypeMatrix(db.url)
    await withConnection(db.url, async (c) => {
      const [count] = await c.query<{ n: number | string }>(`SELECT count(*) AS n FROM ${typeMatrixTable}`)
      expect(Number(count!.n)).toBe(rows.length)
      for (const column of matrixColumns(dialect)) {
        const [stored] = await c.query<{ n: number | string }>(
          `SELECT count(${column.column}) AS n FROM ${typeMatrixTable}`,
        )
        expect(Number(stored!.n), column.column).toBe(rows.filter((row) => row.values[column.column] !== null).length)
      }
      const floats = matrixColumns(dialect).filter((column) => /^(real|double|float)/.test(column.sqlType))
      expect(floats.length).toBe(2)
      for (const column of floats) {
        const [distinct] = await c.query<{ n: number | string }>(
          `SELECT count(DISTINCT ${column.column}) AS n FROM ${typeMatrixTable}`,
        )
        // -0 equals 0; every other pool value, ulp neighbours included, is its own value
        expect(Number(distinct!.n), column.column).toBe(new Set(column.values.map((v) => (v === '-0' ? '0' : v))).size)
      }
    })
  })
})
