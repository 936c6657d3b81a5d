import 'reflect-metadata'
import { createRandom } from '@batchyield/test-fixtures'
import BetterSqlite3 from 'better-sqlite3'
import { boundedRun, comparable, sequenceDiagnosis } from '@batchyield/test-fixtures/conformance'
import { Column, DataSource, Entity, PrimaryColumn } from 'typeorm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { aiterator, KeysetOrderingError, type Strategy, StrategyUnavailableError } from '../src/index.js'

// SQLite through TypeORM's better-sqlite3 and sql.js drivers: keyset (and auto) ordered by each
// column type TypeORM maps on SQLite yields exactly getMany()'s sequence, NULLs and near-duplicates
// included, for chunk sizes 1, 2 and 3; the cursor is refused (SQLite has no server-side cursors).
// Key values are read back as the driver returns them and bound as they are (batch-core's SQLite rule).
// better-sqlite3 is 13, handed to TypeORM as the data source's `driver`: TypeORM's peer range stops at
// 12, whose statements abort the process when garbage-collected on Node 24.19 and later.

@Entity('key_matrix')
class SqliteRow {
  @PrimaryColumn({ type: 'integer' })
  id!: number

  @Column({ type: 'integer', nullable: true })
  integerV!: number | null

  @Column({ type: 'bigint', nullable: true })
  bigintV!: number | null

  @Column({ type: 'real', nullable: true })
  realV!: number | null

  @Column({ type: 'double', nullable: true })
  doubleV!: number | null

  @Column({ type: 'decimal', precision: 12, scale: 4, nullable: true })
  decimalV!: number | null

  @Column({ type: 'boolean', nullable: true })
  booleanV!: boolean | null

  @Column({ type: 'text', nullable: true })
  textV!: string | null

  @Column({ type: 'varchar', length: 40, nullable: true })
  varcharV!: string | null

  @Column({ type: 'blob', nullable: true })
  blobV!: Uint8Array | null

  @Column({ type: 'date', nullable: true })
  dateV!: string | null

  @Column({ type: 'datetime', nullable: true })
  datetimeV!: Date | null

  @Column({ type: 'time', nullable: true })
  timeV!: string | null

  @Column({ type: 'simple-enum', enum: ['zeta', 'alpha', 'mid'], nullable: true })
  enumV!: string | null

  @Column({ type: 'simple-json', nullable: true })
  jsonV!: object | string | number | null

  @Column({ type: 'simple-array', nullable: true })
  arrayV!: string[] | null
}

/** Each column's values: neighbours that differ in the last place, ties, both ends. */
const pools: Record<string, readonly unknown[]> = {
  integerV: [0, -1, 1, 2_147_483_647, -2_147_483_648, 7, 7],
  bigintV: [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER - 1, -Number.MAX_SAFE_INTEGER, 0, 4_294_967_296],
  realV: [0.1, 0.1 + Number.EPSILON / 8, 0.30000000000000004, 0.3, -0, 1e308, -1e-308],
  doubleV: [1 / 3, 1 / 3 + 2 ** -54, 937.1679094620049, 937.1679094620048, -1.5],
  decimalV: [12.3456, 12.3457, -0.0001, 0, 99_999.9999],
  booleanV: [true, false],
  textV: ['a', 'A', 'a ', 'á', 'a\u0301', '', '😀', "it's", 'a\tb', 'b'],
  varcharV: ['x', 'x ', 'X', 'xx', '-- ', '/*', '%', '_'],
  blobV: [
    Buffer.from([]),
    Buffer.from([0]),
    Buffer.from([0, 0]),
    Buffer.from([255]),
    Buffer.from([1, 2]),
    Buffer.from([1, 2, 0]),
  ],
  dateV: ['2024-02-29', '0001-01-01', '9999-12-31', '2024-03-01'],
  datetimeV: [
    new Date('2024-01-01T00:00:00.000Z'),
    new Date('2024-01-01T00:00:00.001Z'),
    new Date('1970-01-01T00:00:00.000Z'),
    new Date('2099-12-31T23:59:59.999Z'),
  ],
  timeV: ['00:00:00', '23:59:59', '12:00:00.5', '12:00:00'],
  enumV: ['zeta', 'alpha', 'mid'],
  jsonV: [{ a: 1 }, { a: 1, b: 2 }, [1, 2], 'text', 0, { b: 1 }],
  arrayV: [['a'], ['a', 'b'], ['b'], ['a', '']],
}
const columns = Object.keys(pools)
const ROWS = 40

function rows(): SqliteRow[] {
  const random = createRandom(17)
  return Array.from({ length: ROWS }, (_, i) => {
    const row = new SqliteRow()
    row.id = i + 1
    for (const column of columns)
      (row as unknown as Record<string, unknown>)[column] = random.chance(0.2) ? null : random.pick(pools[column]!)
    return row
  })
}

const drivers = [
  { name: 'better-sqlite3', options: { type: 'better-sqlite3', database: ':memory:', driver: BetterSqlite3 } },
  { name: 'sql.js', options: { type: 'sqljs' } },
] as const

for (const driver of drivers) {
  describe(`SQLite (${driver.name})`, () => {
    let dataSource: DataSource
    beforeAll(async () => {
      dataSource = await new DataSource({
        ...driver.options,
        entities: [SqliteRow],
        synchronize: true,
        logging: false,
      }).initialize()
      await dataSource.getRepository(SqliteRow).insert(rows())
    })
    afterAll(async () => {
      await dataSource?.destroy()
    })
    const query = () => dataSource.getRepository(SqliteRow).createQueryBuilder('m')
    const plain = (row: SqliteRow) => comparable({ ...row })

    for (const column of columns) {
      for (const direction of ['ASC', 'DESC'] as const) {
        it(`ordered by ${column} ${direction}: keyset and auto yield exactly getMany(), chunk sizes 1, 2, 3`, async () => {
          const expected = await query().orderBy(`m.${column}`, direction).addOrderBy('m.id', direction).getMany()
          expect(expected).toHaveLength(ROWS)
          for (const strategy of ['keyset', 'auto'] satisfies Strategy[]) {
            for (const chunkSize of [1, 2, 3]) {
              const run = await boundedRun(
                () => aiterator(query().orderBy(`m.${column}`, direction), { chunkSize, batchYieldSize: 4, strategy }),
                ROWS,
              )
              const actual = run.batches.flat()
              expect(
                sequenceDiagnosis(
                  expected.map((r) => r.id),
                  run,
                  actual.map((r) => r.id),
                ),
                `${strategy}, chunkSize ${chunkSize}`,
              ).toBe('')
              expect(actual.map(plain)).toEqual(expected.map(plain))
            }
          }
        })
      }
    }

    it('with NULL placement written out and two keys: exactly getMany()', async () => {
      const ordered = () => query().orderBy('m.textV', 'ASC', 'NULLS LAST').addOrderBy('m.realV', 'DESC', 'NULLS FIRST')
      const expected = await ordered().addOrderBy('m.id', 'DESC').getMany()
      for (const chunkSize of [1, 2, 3]) {
        const run = await boundedRun(() => aiterator(ordered(), { chunkSize, batchYieldSize: 5 }), ROWS)
        expect(
          sequenceDiagnosis(
            expected.map((r) => r.id),
            run,
            run.batches.flat().map((r) => r.id),
          ),
          `chunkSize ${chunkSize}`,
        ).toBe('')
      }
    })

    it('resumes after a token: the rest of the sequence', async () => {
      const ordered = () => query().orderBy('m.doubleV', 'DESC')
      const expected = await ordered().addOrderBy('m.id', 'DESC').getMany()
      let token: string | undefined
      const first: SqliteRow[] = []
      for await (const batch of aiterator(ordered(), {
        batchYieldSize: 7,
        chunkSize: 3,
        onProgress: (p) => (token = p.cursor),
      })) {
        first.push(...batch)
        if (first.length >= 14) break
      }
      const rest: SqliteRow[] = []
      for await (const batch of aiterator(ordered(), { batchYieldSize: 7, chunkSize: 3, after: token }))
        rest.push(...batch)
      expect([...first, ...rest].map((r) => r.id)).toEqual(expected.map((r) => r.id))
    })

    it("refuses strategy 'cursor' with a StrategyUnavailableError, at the call", () => {
      expect(() => aiterator(query(), { strategy: 'cursor' })).toThrow(StrategyUnavailableError)
      expect(() => aiterator(query(), { strategy: 'cursor' })).toThrow(
        /strategy 'cursor' needs server-side cursors, which SQLite does not offer/,
      )
    })

    it('auto refuses an ordering keyset cannot follow (no cursor to fall back on)', () => {
      expect(() => aiterator(query().orderBy('LOWER(m.textV)'))).toThrow(KeysetOrderingError)
    })
  })
}
