/**
 * The type matrix: every column type each ORM maps, per database, and what the keyset strategy must
 * do when a query is ordered by it. This table is the specification the conformance suite checks
 * ({@link defineTypeMatrixSuite}) and reads as documentation:
 *
 * - `exact`: `aiterator` with `strategy: 'keyset'` (and `'auto'`) yields exactly the reference query's
 *   entities (TypeORM `getMany()`, MikroORM `em.find`, ordered by the column and the primary key), each
 *   once, in the same order, for any chunk and batch size.
 * - `refused`: `strategy: 'keyset'` throws a `KeysetOrderingError` naming the column before any row;
 *   `'auto'` then takes the cursor on PostgreSQL (and does what the reference query does: for a type
 *   the database cannot order at all, that is the database's error), and throws the refusal on MariaDB.
 *
 * Each column lives in the table `type_matrix` (see {@link matrixTableStatements}); `property` is the
 * entity property both drivers map it to; `hydrate` says how the drivers map it when not with their
 * ORM's default JS type.
 */
import type { Dialect } from '#src/dialect'
import { mariadbPools, postgresPools, type ValuePool } from '#src/conformance/matrix-values'

/** What the keyset strategy must do when ordered by a column of this type. */
export type KeysetOutcome = 'exact' | 'refused'

/** One column of the matrix table. */
export interface MatrixColumn {
  readonly dialect: Dialect
  /** The column's name in `type_matrix`. */
  readonly column: string
  /** The entity property the drivers map it to. */
  readonly property: string
  /** The type as declared in `CREATE TABLE`. */
  readonly sqlType: string
  readonly keyset: KeysetOutcome
  /**
   * How the drivers hydrate it where that differs from their ORM's default: `'number'` (a DECIMAL as a
   * JS number: TypeORM transformer, MikroORM `p.decimal('number')`), `'Date constructor'` (TypeORM
   * `type: Date` instead of `'datetime'`).
   */
  readonly hydrate?: 'number' | 'Date constructor'
  /** The database has no ordering for the type at all: the reference query fails with its error, and so must the cursor. */
  readonly unorderable?: true
  /** The values rows draw from (plus NULL). */
  readonly values: ValuePool
  /** Why the outcome is what it is, or what makes the column hard. */
  readonly note: string
}

/** The matrix's table name, on both databases. */
export const typeMatrixTable = 'type_matrix'

const pg = postgresPools
const my = mariadbPools

// prettier-ignore
/** The matrix. One line per column: dialect, column, property, SQL type, keyset outcome, values, note. */
export const typeMatrix: readonly MatrixColumn[] = [
  // PostgreSQL: keys are read back as text and cast back by the server, so every type with a btree ordering is exact.
  { dialect: 'postgres', column: 'smallint_v', property: 'smallintV', sqlType: 'smallint', keyset: 'exact', values: pg.smallint, note: 'both ends of the range' },
  { dialect: 'postgres', column: 'integer_v', property: 'integerV', sqlType: 'integer', keyset: 'exact', values: pg.integer, note: 'both ends of the range' },
  { dialect: 'postgres', column: 'bigint_v', property: 'bigintV', sqlType: 'bigint', keyset: 'exact', values: pg.bigint, note: 'values around 2^53 and both ends' },
  { dialect: 'postgres', column: 'numeric_text', property: 'numericText', sqlType: 'numeric(30,10)', keyset: 'exact', values: pg.numeric, note: 'hydrated as the exact decimal string' },
  { dialect: 'postgres', column: 'numeric_number', property: 'numericNumber', sqlType: 'numeric(30,10)', hydrate: 'number', keyset: 'exact', values: pg.numeric, note: 'hydrated as a lossy JS number: neighbours in the last digit hydrate equal' },
  { dialect: 'postgres', column: 'real_v', property: 'realV', sqlType: 'real', keyset: 'exact', values: pg.real, note: 'float32 neighbours one ulp apart, -0 = 0, NaN above everything, ±Infinity' },
  { dialect: 'postgres', column: 'double_v', property: 'doubleV', sqlType: 'double precision', keyset: 'exact', values: pg.double, note: 'doubles one ulp apart, -0 = 0, NaN, ±Infinity' },
  { dialect: 'postgres', column: 'timestamp_v', property: 'timestampV', sqlType: 'timestamp(6)', keyset: 'exact', values: pg.timestamp, note: 'microseconds inside one millisecond (a JS Date has milliseconds)' },
  { dialect: 'postgres', column: 'timestamptz_v', property: 'timestamptzV', sqlType: 'timestamptz(6)', keyset: 'exact', values: pg.timestamptz, note: 'microseconds; one instant written in several zones' },
  { dialect: 'postgres', column: 'date_v', property: 'dateV', sqlType: 'date', keyset: 'exact', values: pg.date, note: 'years 1 to 9999' },
  { dialect: 'postgres', column: 'time_v', property: 'timeV', sqlType: 'time(6)', keyset: 'exact', values: pg.time, note: 'microseconds, 24:00:00' },
  { dialect: 'postgres', column: 'interval_v', property: 'intervalV', sqlType: 'interval', keyset: 'exact', values: pg.interval, note: "'1 day' = '24:00:00' and '1 mon' = '30 days': equal, printed differently" },
  { dialect: 'postgres', column: 'uuid_v', property: 'uuidV', sqlType: 'uuid', keyset: 'exact', values: pg.uuid, note: 'neighbours in the last hex digit' },
  { dialect: 'postgres', column: 'text_icu', property: 'textIcu', sqlType: 'text COLLATE "en-x-icu"', keyset: 'exact', values: pg.collatedText, note: 'linguistic order (a < A < á < b), unlike the database default "C"' },
  { dialect: 'postgres', column: 'text_ci', property: 'textCi', sqlType: 'text COLLATE matrix_ci', keyset: 'exact', values: pg.collatedText, note: "nondeterministic ICU collation at level 1: 'a' = 'A' = 'á', ties broken by the primary key" },
  { dialect: 'postgres', column: 'varchar_v', property: 'varcharV', sqlType: 'varchar(40)', keyset: 'exact', values: pg.varchar, note: 'byte order ("C"), trailing space and tab, combining accents, emoji' },
  { dialect: 'postgres', column: 'bytea_v', property: 'byteaV', sqlType: 'bytea', keyset: 'exact', values: pg.bytea, note: 'empty, leading zero bytes, high bytes' },
  { dialect: 'postgres', column: 'boolean_v', property: 'booleanV', sqlType: 'boolean', keyset: 'exact', values: pg.boolean, note: 'two values: long runs of ties' },
  { dialect: 'postgres', column: 'enum_v', property: 'enumV', sqlType: 'matrix_mood', keyset: 'exact', values: pg.enum, note: "native enum declared ('zeta', 'alpha', 'mid'): sorts by declaration" },
  { dialect: 'postgres', column: 'int_array', property: 'intArray', sqlType: 'integer[]', keyset: 'exact', values: pg.intArray, note: 'element-wise order, NULL elements, prefixes' },
  { dialect: 'postgres', column: 'text_array', property: 'textArray', sqlType: 'text[]', keyset: 'exact', values: pg.textArray, note: 'quoted elements, commas inside elements, NULL elements' },
  { dialect: 'postgres', column: 'json_v', property: 'jsonV', sqlType: 'json', keyset: 'refused', unorderable: true, values: pg.json, note: 'json has no ordering operator (jsonb has)' },
  { dialect: 'postgres', column: 'jsonb_v', property: 'jsonbV', sqlType: 'jsonb', keyset: 'exact', values: pg.jsonb, note: 'jsonb order: 1 = 1.0, objects by size first' },
  { dialect: 'postgres', column: 'inet_v', property: 'inetV', sqlType: 'inet', keyset: 'exact', values: pg.inet, note: 'IPv4 and IPv6, netmasks, /32 = no mask' },
  { dialect: 'postgres', column: 'xml_v', property: 'xmlV', sqlType: 'xml', keyset: 'refused', unorderable: true, values: pg.xml, note: 'xml has no ordering' },
  { dialect: 'postgres', column: 'point_v', property: 'pointV', sqlType: 'point', keyset: 'refused', unorderable: true, values: pg.point, note: 'geometric types have no btree ordering' },

  // MariaDB: FLOAT/DOUBLE/DECIMAL/DATETIME/TIMESTAMP/JSON are read back as the server's text, ENUM/SET seek by their index, BIT as a number: nothing refused.
  { dialect: 'mariadb', column: 'tinyint_v', property: 'tinyintV', sqlType: 'tinyint', keyset: 'exact', values: my.tinyint, note: 'both ends of the range' },
  { dialect: 'mariadb', column: 'smallint_v', property: 'smallintV', sqlType: 'smallint', keyset: 'exact', values: my.smallint, note: 'both ends of the range' },
  { dialect: 'mariadb', column: 'mediumint_v', property: 'mediumintV', sqlType: 'mediumint', keyset: 'exact', values: my.mediumint, note: 'both ends of the range' },
  { dialect: 'mariadb', column: 'int_v', property: 'intV', sqlType: 'int', keyset: 'exact', values: my.int, note: 'both ends of the range' },
  { dialect: 'mariadb', column: 'bigint_v', property: 'bigintV', sqlType: 'bigint', keyset: 'exact', values: my.bigint, note: 'values around 2^53 and both ends' },
  { dialect: 'mariadb', column: 'float_v', property: 'floatV', sqlType: 'float', keyset: 'exact', values: my.float, note: 'float32 neighbours: the driver reads FLOAT with about 6 digits' },
  { dialect: 'mariadb', column: 'double_v', property: 'doubleV', sqlType: 'double', keyset: 'exact', values: my.double, note: 'doubles one ulp apart (937.1679094620049 comes back as …048 from mysql2)' },
  { dialect: 'mariadb', column: 'decimal_text', property: 'decimalText', sqlType: 'decimal(30,10)', keyset: 'exact', values: my.decimal, note: 'hydrated as the exact decimal string' },
  { dialect: 'mariadb', column: 'decimal_number', property: 'decimalNumber', sqlType: 'decimal(30,10)', hydrate: 'number', keyset: 'exact', values: my.decimal, note: 'hydrated as a lossy JS number' },
  { dialect: 'mariadb', column: 'bit1', property: 'bit1', sqlType: 'bit(1)', keyset: 'exact', values: my.bit1, note: 'arrives as a Buffer, compares as a number' },
  { dialect: 'mariadb', column: 'bit8', property: 'bit8', sqlType: 'bit(8)', keyset: 'exact', values: my.bit8, note: 'arrives as a Buffer, compares as a number' },
  { dialect: 'mariadb', column: 'enum_v', property: 'enumV', sqlType: "enum('zeta','alpha','mid')", keyset: 'exact', values: my.enum, note: 'ORDER BY follows the declaration (index), a string comparison would not' },
  { dialect: 'mariadb', column: 'set_v', property: 'setV', sqlType: "set('red','green','blue')", keyset: 'exact', values: my.set, note: 'ORDER BY follows the bit value, a string comparison would not' },
  { dialect: 'mariadb', column: 'json_v', property: 'jsonV', sqlType: 'json', keyset: 'exact', values: my.json, note: 'stored and ordered as text, however the driver hydrates it' },
  { dialect: 'mariadb', column: 'datetime0', property: 'datetime0', sqlType: 'datetime', keyset: 'exact', values: my.datetime0, note: 'seconds' },
  { dialect: 'mariadb', column: 'datetime3', property: 'datetime3', sqlType: 'datetime(3)', keyset: 'exact', values: my.datetime3, note: 'milliseconds' },
  { dialect: 'mariadb', column: 'datetime6', property: 'datetime6', sqlType: 'datetime(6)', keyset: 'exact', values: my.datetime6, note: 'microseconds inside one millisecond' },
  { dialect: 'mariadb', column: 'datetime6_ctor', property: 'datetime6Ctor', sqlType: 'datetime(6)', hydrate: 'Date constructor', keyset: 'exact', values: my.datetime6, note: 'microseconds; TypeORM column declared with type: Date' },
  { dialect: 'mariadb', column: 'timestamp6', property: 'timestamp6', sqlType: 'timestamp(6) NULL DEFAULT NULL', keyset: 'exact', values: my.timestamp, note: 'microseconds, 1970 to 2038' },
  { dialect: 'mariadb', column: 'year_v', property: 'yearV', sqlType: 'year', keyset: 'exact', values: my.year, note: '1901 to 2155' },
  { dialect: 'mariadb', column: 'binary4', property: 'binary4', sqlType: 'binary(4)', keyset: 'exact', values: my.binary4, note: 'zero-padded bytes' },
  { dialect: 'mariadb', column: 'varbinary_v', property: 'varbinaryV', sqlType: 'varbinary(16)', keyset: 'exact', values: my.varbinary, note: 'empty, leading zero bytes, high bytes' },
  { dialect: 'mariadb', column: 'varchar_ci', property: 'varcharCi', sqlType: 'varchar(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci', keyset: 'exact', values: my.collatedText, note: "'a' = 'A' = 'á' = 'a ', 'ss' = 'ß': ties broken by the primary key" },
  { dialect: 'mariadb', column: 'text_v', property: 'textV', sqlType: 'text CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci', keyset: 'exact', values: my.text, note: 'TEXT with a case-insensitive collation' },
]

/** The matrix columns of one dialect, in table order. */
export function matrixColumns(dialect: Dialect): readonly MatrixColumn[] {
  return typeMatrix.filter((column) => column.dialect === dialect)
}
