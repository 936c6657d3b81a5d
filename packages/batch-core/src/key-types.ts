/**
 * Which column types a keyset seek can follow exactly, per database, and how: the one table both
 * adapters use, so that a seek compares exactly what `ORDER BY` compares.
 *
 * A keyset chunk ends at a row; the next chunk asks for the rows after that row's key values.
 * That is only exact when the value read back, bound as a parameter, compares equal to the stored
 * value, and when the database compares it the way it sorts. Drivers and ORMs often break the
 * first (a JS `Date` has milliseconds, a JS number cannot hold a DECIMAL or a MariaDB FLOAT, a JSON
 * column comes back parsed), and MariaDB breaks the second for ENUM and SET (sorted by their index,
 * compared as strings). So each type says how its value is read (`read`), what the seek compares
 * (`compare`), and which hydrated JS values are already exact (`exactAs`); types that cannot be
 * sought at all are refused with the reason.
 */

/** The SQL dialects the table knows. Other databases get the SQLite rules (values as the driver returns them). */
export type KeyDialect = 'postgresql' | 'mysql' | 'sqlite'

/**
 * The kinds of hydrated JavaScript value a key may arrive as: `'integer'` is a safe-integer
 * number, `'number'` any other number, `'buffer'` a `Uint8Array`/`Buffer`.
 */
export type KeyValueKind = 'integer' | 'number' | 'string' | 'bigint' | 'boolean' | 'buffer'

/**
 * How a column of one type is sought exactly on one dialect.
 *
 * @example
 * ```ts
 * import { keyType } from '@batchyield/batch-core'
 *
 * const rule = keyType('mysql', "enum('zeta','alpha')")
 * if (rule.kind === 'refused') throw new Error(rule.reason)
 * rule.read('`t`.`e`')    // '(`t`.`e` + 0)': the enum's index, which is what ORDER BY sorts by
 * rule.compare('`t`.`e`') // '(`t`.`e` + 0)'
 * ```
 */
export interface KeyType {
  readonly kind: 'exact'
  /** The normalized type name (lower case, no length, no modifiers). */
  readonly type: string
  /** An SQL expression over the escaped column that reads the value exactly (the column itself when the driver's value is exact). */
  read(column: string): string
  /** The SQL expression the seek compares with the read value (the column itself unless the database sorts by something else). */
  compare(column: string): string
  /** Whether `compare(column)` is the column itself (index-friendly, and expressible as a plain property filter). */
  readonly comparesColumn: boolean
  /** Hydrated values of these kinds bind back exactly; any other value must be read with `read()`. */
  readonly exactAs: readonly KeyValueKind[]
}

/**
 * A type the keyset strategy cannot seek on, with the reason (for `KeysetOrderingError`).
 *
 * @example
 * ```ts
 * import { keyType } from '@batchyield/batch-core'
 *
 * const rule = keyType('postgresql', 'json')
 * if (rule.kind === 'refused') console.log(rule.reason) // "json has no ordering on PostgreSQL …"
 * ```
 */
export interface RefusedKeyType {
  readonly kind: 'refused'
  readonly type: string
  readonly reason: string
}

const column = (sql: string): string => sql
const asText = (sql: string): string => `CAST(${sql} AS text)`
const asChar = (sql: string): string => `CAST(${sql} AS CHAR)`
const index = (sql: string): string => `(${sql} + 0)`

function exact(
  type: string,
  read: (sql: string) => string,
  exactAs: readonly KeyValueKind[],
  compare: (sql: string) => string = column,
): KeyType {
  return { kind: 'exact', type, read, compare, comparesColumn: compare === column, exactAs }
}

function refused(type: string, reason: string): RefusedKeyType {
  return { kind: 'refused', type, reason }
}

const PG_NO_ORDER = new Set([
  'json',
  'xml',
  'point',
  'line',
  'lseg',
  'box',
  'path',
  'polygon',
  'circle',
  'tsquery',
  'txid_snapshot',
  'pg_snapshot',
  'aclitem',
])
const PG_INTEGERS = new Set([
  'smallint',
  'int2',
  'integer',
  'int',
  'int4',
  'smallserial',
  'serial',
  'serial2',
  'serial4',
])
const PG_BIGINTS = new Set(['bigint', 'int8', 'bigserial', 'serial8'])
const PG_FLOATS = new Set(['real', 'float4', 'double precision', 'float8', 'float', 'double'])
const PG_STRINGS = new Set([
  'text',
  'varchar',
  'character varying',
  'char',
  'character',
  'bpchar',
  'citext',
  'uuid',
  'name',
  'enum',
  'simple-enum',
  'string',
])

/**
 * PostgreSQL: every value is read as text and bound as an untyped parameter, which the server casts
 * to the column's type; the text form of every built-in type round-trips exactly (floats too, with
 * the default `extra_float_digits` of 1), so the seek compares with the column's own operator.
 */
function postgresql(type: string): KeyType | RefusedKeyType {
  if (PG_NO_ORDER.has(type)) {
    const hint = type === 'json' ? ' (jsonb has one)' : ''
    return refused(type, `${type} has no ordering on PostgreSQL${hint}, so no row can be sought after another`)
  }
  if (PG_INTEGERS.has(type)) return exact(type, asText, ['integer', 'string', 'bigint'])
  if (PG_BIGINTS.has(type)) return exact(type, asText, ['string', 'bigint'])
  // node-postgres parses the shortest round-trip text, and a JS number prints as it: exact both ways
  if (PG_FLOATS.has(type)) return exact(type, asText, ['number', 'integer', 'string'])
  if (type === 'boolean' || type === 'bool') return exact(type, asText, ['boolean', 'string'])
  if (PG_STRINGS.has(type)) return exact(type, asText, ['string'])
  if (type === 'bytea') return exact(type, asText, ['buffer', 'string'])
  // numeric, dates and times (microseconds), intervals, arrays, jsonb, network types, user enums, …
  return exact(type, asText, ['string'])
}

const MY_INTEGERS = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'year', 'bool', 'boolean'])
const MY_BINARY = new Set(['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob'])
const MY_STRINGS = new Set([
  'char',
  'varchar',
  'tinytext',
  'text',
  'mediumtext',
  'longtext',
  'nchar',
  'nvarchar',
  'national char',
  'national varchar',
  'uuid',
  'inet4',
  'inet6',
  'string',
])

/**
 * MariaDB/MySQL: mysql2 parses FLOAT/DOUBLE with its own lossy parser, DECIMAL and BIGINT may come
 * as JS numbers, temporal types as millisecond Dates, JSON parsed: those are read as the server's
 * text (FLOAT widened to DOUBLE first, whose text MariaDB prints exactly) and bound as strings, which
 * the server converts back to the column's type. ENUM and SET sort by their index, so the seek reads
 * and compares the index. BIT compares as a number.
 */
function mysql(type: string): KeyType | RefusedKeyType {
  if (MY_INTEGERS.has(type)) return exact(type, column, ['integer', 'string', 'boolean'])
  if (type === 'bigint') return exact(type, asChar, ['string', 'bigint'])
  if (type === 'float') return exact(type, (sql) => `CAST(CAST(${sql} AS DOUBLE) AS CHAR)`, [])
  if (type === 'double' || type === 'double precision' || type === 'real') return exact(type, asChar, [])
  if (type === 'decimal' || type === 'numeric' || type === 'dec' || type === 'fixed')
    return exact(type, asChar, ['string'])
  if (type === 'bit') return exact(type, index, [])
  if (type === 'enum' || type === 'set' || type === 'simple-enum') return exact(type, index, [], index)
  if (MY_BINARY.has(type)) return exact(type, column, ['buffer'])
  if (MY_STRINGS.has(type)) return exact(type, column, ['string'])
  // json, date, datetime, timestamp, time and anything unknown: the server's text, converted back
  return exact(type, asChar, ['string'])
}

/** SQLite and others: the driver returns what is stored (integers beyond 2^53 only with the driver's safe-integer mode). */
function sqlite(type: string): KeyType {
  return exact(type, column, ['integer', 'number', 'string', 'bigint', 'boolean', 'buffer'])
}

/**
 * The seek rule for a column whose database type is `columnType` (as ORM metadata states it:
 * `'varchar(255)'`, `'DOUBLE PRECISION'`, `"enum('a','b')"`, `'int unsigned'` are all understood).
 *
 * @example
 * ```ts
 * import { keyType } from '@batchyield/batch-core'
 *
 * keyType('postgresql', 'timestamp(6) with time zone') // exact, read as CAST(… AS text)
 * keyType('mysql', 'float').kind                      // 'exact': read as CAST(CAST(… AS DOUBLE) AS CHAR)
 * keyType('postgresql', 'json').kind                  // 'refused'
 * ```
 */
export function keyType(dialect: KeyDialect, columnType: string): KeyType | RefusedKeyType {
  const type = normalizeColumnType(columnType)
  switch (dialect) {
    case 'postgresql':
      return postgresql(type)
    case 'mysql':
      return mysql(type)
    default:
      return sqlite(type)
  }
}

/**
 * A type name as the table knows it: lower case, without length/precision/values, `unsigned`,
 * `zerofill`, time-zone suffixes or array brackets' element (an array type becomes `'array'`).
 *
 * @example
 * ```ts
 * import { normalizeColumnType } from '@batchyield/batch-core'
 * normalizeColumnType("ENUM('a','b')")            // 'enum'
 * normalizeColumnType('timestamp(6) with time zone') // 'timestamptz'
 * normalizeColumnType('int unsigned')              // 'int'
 * ```
 */
export function normalizeColumnType(columnType: string): string {
  let type = columnType.trim().toLowerCase()
  if (type.endsWith('[]') || type.startsWith('_')) return 'array'
  type = type
    .replace(/\(.*?\)/g, '')
    .replace(/\b(unsigned|signed|zerofill)\b/g, '')
    .replace(/\s+/g, ' ')
    .trim()
  if (type === 'timestamp with time zone') return 'timestamptz'
  if (type === 'timestamp without time zone') return 'timestamp'
  if (type === 'time with time zone') return 'timetz'
  if (type === 'time without time zone') return 'time'
  return type
}

/** The kind of a hydrated key value, or undefined for anything else (a Date, an object, an array). */
export function keyValueKind(value: unknown): KeyValueKind | undefined {
  switch (typeof value) {
    case 'number':
      return Number.isSafeInteger(value) ? 'integer' : 'number'
    case 'string':
      return 'string'
    case 'bigint':
      return 'bigint'
    case 'boolean':
      return 'boolean'
    default:
      return value instanceof Uint8Array ? 'buffer' : undefined
  }
}

/**
 * Whether a hydrated value of this key can be bound back as it is (NULL always can). A number
 * declared `'integer'` must be a safe integer: an integer column whose values exceed 2^53 fails here.
 *
 * @example
 * ```ts
 * import { isExactKeyValue, keyType } from '@batchyield/batch-core'
 * const rule = keyType('postgresql', 'numeric(30,10)')
 * if (rule.kind === 'exact') isExactKeyValue(rule, 0.1) // false: read it with rule.read()
 * ```
 */
export function isExactKeyValue(rule: KeyType, value: unknown): boolean {
  if (value === null) return true
  const kind = keyValueKind(value)
  return kind !== undefined && rule.exactAs.includes(kind)
}
