import { type KeyDialect, type KeyType, type KeyValueKind, keyType, type RefusedKeyType } from '@batchyield/batch-core'
import {
  type EntityManager,
  type EntityProperty,
  IntegerType,
  type Platform,
  SmallIntType,
  TimeType,
  TinyIntType,
} from '@mikro-orm/core'

/**
 * How one sort property is sought exactly: batch-core's rule for its database type, and whether
 * the value MikroORM hydrates binds back as it is. Decided once per run from metadata.
 */
export interface KeyColumn {
  readonly rule: KeyType
  /**
   * The hydrated value binds back exactly and the seek compares the column itself; else the seek
   * value is read with `rule.read(column)` and compared with `rule.compare(column)`.
   */
  readonly hydratedExact: boolean
  /**
   * The seek compares a raw fragment of the column, binding the value as it is (not through the
   * property's type), and non-integer numbers as their text: keys read exactly, and keys that may
   * hold fractions, because MikroORM writes numbers into the SQL as numeric literals (a real
   * column compared with one compares as double; NaN and Infinity are no literals), while a text
   * value is cast by the server to the column's type.
   */
  readonly rawCompare: boolean
}

/**
 * The key-type dialect of `em`'s database, from its driver's native dependencies (the same signal
 * the strategy choice uses; platform classes are not exported by `@mikro-orm/core`). SQLite
 * (`@mikro-orm/sqlite`'s better-sqlite3, libSQL) binds key values as the driver returns them, and
 * so does any other driver: batch-core's SQLite rules.
 */
export function keyDialect(em: EntityManager): KeyDialect {
  const dependencies = em.getDriver().getDependencies()
  if (dependencies.includes('pg')) return 'postgresql'
  if (dependencies.includes('mysql2') || dependencies.includes('mariadb')) return 'mysql'
  return 'sqlite'
}

/** The rule for `prop`'s column on `dialect`, or the refusal. */
export function keyColumn(prop: EntityProperty, platform: Platform, dialect: KeyDialect): KeyColumn | RefusedKeyType {
  const columnType = prop.columnTypes?.[0] ?? 'unknown'
  const rule = keyType(dialect, columnType)
  if (rule.kind === 'refused') return rule
  const kinds = hydratedKinds(prop, platform, columnType)
  const hydratedExact = rule.comparesColumn && kinds !== undefined && kinds.every((kind) => rule.exactAs.includes(kind))
  return { rule, hydratedExact, rawCompare: !hydratedExact || kinds.includes('number') }
}

/**
 * The kinds of value MikroORM hydrates for `prop` (its runtime type, custom types included), or
 * undefined for Dates, objects and unknown runtime types, which are always read exactly.
 */
function hydratedKinds(
  prop: EntityProperty,
  platform: Platform,
  columnType: string,
): readonly KeyValueKind[] | undefined {
  switch (prop.runtimeType) {
    case 'number':
      // an integer column's numbers are integers; any other number column may hold fractions
      return integerColumn(platform, columnType) ? ['integer'] : ['integer', 'number']
    case 'string':
      return refusesFractionalSeconds(prop, platform) ? undefined : ['string']
    case 'bigint':
      return ['bigint']
    case 'boolean':
      return ['boolean']
    case 'Buffer':
    case 'Uint8Array':
      return ['buffer']
    default:
      return undefined
  }
}

/**
 * MikroORM before 6.6 maps a `time` property to a TimeType that refuses in a query the fractional
 * seconds it hydrates from a `time(n)` column (`'00:00:00.000001'`): such a key is read exactly, as
 * text, and compared raw, so its value is not bound through that type.
 */
function refusesFractionalSeconds(prop: EntityProperty, platform: Platform): boolean {
  if (!(prop.customType instanceof TimeType)) return false
  try {
    ;(
      prop.customType as { convertToDatabaseValue(value: unknown, platform: Platform, context: object): unknown }
    ).convertToDatabaseValue('00:00:00.000001', platform, { fromQuery: true, mode: 'query' })
    return false
  } catch {
    return true
  }
}

/** Whether MikroORM maps the column to one of its integer types (BigInt excluded: beyond 2^53 a number is lossy). */
function integerColumn(platform: Platform, columnType: string): boolean {
  const mapped = platform.getMappedType(columnType)
  return mapped instanceof IntegerType || mapped instanceof SmallIntType || mapped instanceof TinyIntType
}
