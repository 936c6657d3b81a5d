/**
 * Sort keys whose hydrated values are not what the database compares (test/exact-keys.*.test.ts):
 * one table per database with a column of each such type, made by `orm.schema.create()` from these
 * entities and filled with SQL literals (never through MikroORM's conversions), so every stored
 * value is exactly the one meant: neighbours one ulp apart, decimals beyond a double's precision,
 * microseconds inside one millisecond, NULLs.
 */
import { type Dialect, withConnection } from '@batchyield/test-fixtures'
import {
  defineEntity,
  type EntityClass,
  type EntityManager,
  type MikroORM,
  type Options,
  p,
  Type,
} from '@mikro-orm/core'
import { MariaDbDriver } from '@mikro-orm/mariadb'
import { PostgreSqlDriver } from '@mikro-orm/postgresql'
import { expect } from 'vitest'
import '../src/index.js'
import { collectBatches, pkOf, withTieBreaker } from './support.js'

const MariaKeyRowSchema = defineEntity({
  name: 'MariaKeyRow',
  tableName: 'key_rows',
  properties: {
    id: p.integer().primary(),
    mood: p.enum(['zeta', 'alpha', 'mid']).nullable(),
    ratio: p.float().nullable(),
    measure: p.double().nullable(),
    amount: p.decimal('number').precision(30).scale(10).nullable(),
    doc: p.json<unknown>().nullable(),
    flag: p.blob().columnType('bit(1)').nullable(),
    at: p.datetime(6).nullable(),
  },
})
export class MariaKeyRow extends MariaKeyRowSchema.class {}
MariaKeyRowSchema.setClass(MariaKeyRow)

const PgKeyRowSchema = defineEntity({
  name: 'PgKeyRow',
  tableName: 'key_rows',
  properties: {
    id: p.integer().primary(),
    amount: p.decimal('number').precision(30).scale(10).nullable(),
    doc: p.json<unknown>().columnType('json').nullable(),
    docb: p.json<unknown>().nullable(),
    measure: p.double().nullable(),
    ratio: p.float().nullable(),
  },
})
export class PgKeyRow extends PgKeyRowSchema.class {}
PgKeyRowSchema.setClass(PgKeyRow)

/**
 * A custom type that hydrates only the first three characters and says its value is a string: a
 * lossy key the key-type table takes for exact, so only the progress guard can stop the run.
 */
export class TruncatedText extends Type<string | null, string | null> {
  override convertToJSValue(value: string | null): string | null {
    return value === null ? null : value.slice(0, 3)
  }
  override convertToDatabaseValue(value: string | null): string | null {
    return value
  }
  override getColumnType(): string {
    return 'text'
  }
  override compareAsType(): string {
    return 'string'
  }
}

const CodeSchema = defineEntity({
  name: 'Code',
  tableName: 'codes',
  properties: {
    id: p.integer().primary(),
    code: p.type(TruncatedText),
    /** Lazy: populating it makes each chunk an em.find. */
    note: p.text().lazy().nullable(),
  },
})
export class Code extends CodeSchema.class {}
CodeSchema.setClass(Code)

// A single-table hierarchy whose discriminator values are declared out of alphabetical order:
// MariaDB stores the discriminator as ENUM('square','circle') and sorts it by that index.
const ShapeSchema = defineEntity({
  name: 'Shape',
  tableName: 'shapes',
  discriminatorColumn: 'kind',
  // by entity name (the classes are defined below); the typings ask for classes
  discriminatorMap: { square: 'Square', circle: 'Circle' } as never,
  properties: {
    id: p.integer().primary(),
    name: p.string().length(40),
  },
})
export class Shape extends ShapeSchema.class {}
ShapeSchema.setClass(Shape)

const SquareSchema = defineEntity({
  name: 'Square',
  extends: Shape,
  discriminatorValue: 'square',
  properties: { side: p.integer().nullable() },
})
export class Square extends SquareSchema.class {}
SquareSchema.setClass(Square)

const CircleSchema = defineEntity({
  name: 'Circle',
  extends: Shape,
  discriminatorValue: 'circle',
  properties: { radius: p.integer().nullable() },
})
export class Circle extends CircleSchema.class {}
CircleSchema.setClass(Circle)

/** The entities of one database's exact-keys tables. */
export function exactKeyEntities(dialect: Dialect) {
  const shapes = [ShapeSchema, SquareSchema, CircleSchema]
  return dialect === 'postgres' ? [PgKeyRowSchema, CodeSchema, ...shapes] : [MariaKeyRowSchema, ...shapes]
}

/** MikroORM options for those entities on `dialect`. */
export function exactKeyOptions(dialect: Dialect): Partial<Options> {
  return {
    driver: dialect === 'postgres' ? PostgreSqlDriver : MariaDbDriver,
    entities: exactKeyEntities(dialect),
  } as Partial<Options>
}

/** The double one ulp away from `x` (up or down). */
export function nextDouble(x: number, direction: 1 | -1): number {
  const view = new DataView(new ArrayBuffer(8))
  view.setFloat64(0, x)
  view.setBigInt64(0, view.getBigInt64(0) + BigInt(Math.sign(x) * direction))
  return view.getFloat64(0)
}

/** The float32 one ulp away from `Math.fround(x)`, as the JS number that holds it exactly. */
export function nextFloat32(x: number, direction: 1 | -1): number {
  const view = new DataView(new ArrayBuffer(4))
  view.setFloat32(0, x)
  view.setInt32(0, view.getInt32(0) + Math.sign(x) * direction)
  return view.getFloat32(0)
}

/** Rows of `key_rows`: each column cycles through its values with its own period, so ties differ from column to column. */
export const KEY_ROW_COUNT = 41

const doubles = [
  937.1679094620049,
  nextDouble(937.1679094620049, -1),
  nextDouble(937.1679094620049, 1),
  0.1,
  0.30000000000000004,
  0.3,
  -5.5,
  1e-300,
  null,
]
const floats = [0.3, nextFloat32(0.3, 1), nextFloat32(0.3, -1), 0.1, 16777216, 1.5, null]
const decimals = [
  '12345678901234567890.0000000001',
  '12345678901234567890.0000000002',
  '12345678901234567890.0000000003',
  '0.1000000000',
  '0.1000000001',
  '-1',
  null,
]
const moods = ['zeta', 'alpha', 'mid', null, 'alpha']
const docs = ['{"a": 1}', '[1, 2]', '"text"', '3', '{"a": 10}', 'null', null, '{"b": {"c": [true]}}']
const flags = [0, 1, null, 1]
const micros = [1, 2, 999, 3, null, 500]

/** Fills the tables of {@link exactKeyEntities} (after `orm.schema.create()`). */
export async function seedExactKeys(orm: MikroORM, dialect: Dialect, url: string): Promise<void> {
  await orm.schema.create()
  const at = (i: number): string | null => {
    const us = micros[i % micros.length]!
    return us === null ? null : `2024-01-01 00:00:00.${String(us).padStart(6, '0')}`
  }
  await withConnection(url, async (c) => {
    for (let id = 1; id <= KEY_ROW_COUNT; id++) {
      const i = id - 1
      if (dialect === 'mariadb') {
        const flag = flags[i % flags.length]
        await c.query(
          `insert into key_rows (id, mood, ratio, measure, amount, doc, flag, at) values (?, ?, ?, ?, ?, ?, ${flag === null ? 'NULL' : `b'${flag}'`}, ?)`,
          [
            id,
            moods[i % moods.length],
            floats[i % floats.length],
            doubles[i % doubles.length],
            decimals[i % decimals.length],
            docs[i % docs.length],
            at(i),
          ],
        )
      } else {
        // json keeps its text as written: the same document spelled two ways is two rows
        const doc =
          docs[i % docs.length] === null
            ? null
            : i % 3 === 0
              ? docs[i % docs.length]!.replace(': ', ':')
              : docs[i % docs.length]
        const ratio = [...floats, 'NaN', 'Infinity', '-Infinity'][i % (floats.length + 3)]
        await c.query(`insert into key_rows (id, amount, doc, docb, measure, ratio) values ($1, $2, $3, $4, $5, $6)`, [
          id,
          decimals[i % decimals.length],
          doc,
          doc,
          doubles[i % doubles.length],
          ratio,
        ])
      }
    }
    const p = (n: number): string => (dialect === 'postgres' ? `$${n}` : '?')
    for (let id = 1; id <= 13; id++) {
      await c.query(
        `insert into shapes (id, name, kind, side, radius) values (${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)})`,
        [id, `shape ${id}`, id % 3 === 0 ? 'square' : 'circle', id, id],
      )
    }
    if (dialect === 'postgres') {
      for (let id = 1; id <= 9; id++) await c.query(`insert into codes (id, code) values ($1, $2)`, [id, `abc${id}`])
    }
  })
}

/** The chunk sizes every key runs with: 1 puts a boundary after every row, 7 lands boundaries inside runs of ties. */
export const CHUNK_SIZES = [1, 2, 3, 7] as const

/**
 * `em.aiterator(entity, { orderBy, strategy: 'keyset' })` yields exactly em.find's entities in
 * em.find's order, for every chunk size of {@link CHUNK_SIZES}. Each run is bounded by a limit, so a
 * seek that repeats rows shows up as a wrong sequence instead of a hang.
 */
export async function expectKeysetEqualsFind(
  em: EntityManager,
  entity: EntityClass<object>,
  orderBy: Record<string, string>,
): Promise<void> {
  const expected = (await em.fork().find(entity, {}, { orderBy: withTieBreaker(orderBy, ['id']) as never })).map(pkOf)
  expect(expected.length).toBeGreaterThan(5)
  for (const chunkSize of CHUNK_SIZES) {
    const run = em.aiterator(entity, {
      orderBy: orderBy as never,
      strategy: 'keyset',
      chunkSize,
      batchYieldSize: 4,
      limit: expected.length + 10,
    })
    expect((await collectBatches(run)).flat().map(pkOf), `chunkSize ${chunkSize}`).toEqual(expected)
  }
}
