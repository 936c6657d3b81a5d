import type { NullsPlacement, SortDirection } from '@batchyield/batch-core'
import type { DataSource, EntityMetadata } from 'typeorm'

/** TypeORM does not export ColumnMetadata from its root; this is the same type. */
export type ColumnMetadata = EntityMetadata['columns'][number]

/**
 * What the adapter needs to know about a database beyond what TypeORM already abstracts.
 * Everything else (parameters, identifier quoting, LIMIT/OFFSET) goes through TypeORM.
 */
export interface Dialect {
  /** Shown in error messages. */
  readonly name: string
  /** Server-side cursors (`DECLARE … CURSOR`, `FETCH`) inside a transaction. */
  readonly supportsCursor: boolean
  /** Whether `ORDER BY … NULLS FIRST|LAST` can be written. */
  readonly orderByNulls: boolean
  /**
   * Whether an ORDER BY may keep a leading key that the WHERE pins to NULL and still be read in
   * index order. MariaDB/MySQL then sort (filesort); PostgreSQL needs the key kept to use the index.
   */
  readonly ordersByPinnedNullKey: boolean
  /** A JS array binds as one array parameter (`column = ANY(:ids)`). */
  readonly arrayParameters: boolean
  /** Where the database puts NULLs when the query does not say. */
  defaultNulls(direction: SortDirection): NullsPlacement
  /**
   * A select expression that reads a sort key's value so that binding it back as a parameter
   * compares exactly equal (e.g. timestamps keep their microseconds, which a JS Date drops).
   */
  keyValue(escapedColumn: string, column: ColumnMetadata): string
}

const postgres: Dialect = {
  name: 'PostgreSQL',
  supportsCursor: true,
  orderByNulls: true,
  ordersByPinnedNullKey: true,
  arrayParameters: true,
  defaultNulls: (direction) => (direction === 'asc' ? 'last' : 'first'),
  // Text is exact for every type, and the server casts the text parameter back to the
  // column's type in the comparison.
  keyValue: (column) => `CAST(${column} AS text)`,
}

const TEMPORAL = new Set(['datetime', 'timestamp', 'time', 'date'])

const mysql: Dialect = {
  name: 'MariaDB/MySQL',
  supportsCursor: false,
  orderByNulls: false,
  ordersByPinnedNullKey: false,
  arrayParameters: false,
  defaultNulls: (direction) => (direction === 'asc' ? 'first' : 'last'),
  // Only temporal types lose precision on the way through mysql2 (Date has milliseconds).
  keyValue: (column, meta) => (typeof meta.type === 'string' && TEMPORAL.has(meta.type.toLowerCase()) ? `CAST(${column} AS CHAR)` : column),
}

const sqlite: Dialect = {
  name: 'SQLite',
  supportsCursor: false,
  orderByNulls: true,
  ordersByPinnedNullKey: true,
  arrayParameters: false,
  defaultNulls: (direction) => (direction === 'asc' ? 'first' : 'last'),
  keyValue: (column) => column,
}

/** The dialect of a TypeORM data source, from its driver type. */
export function dialectOf(dataSource: DataSource): Dialect {
  const type = dataSource.driver.options.type
  switch (type) {
    case 'postgres':
    case 'aurora-postgres':
      return postgres
    case 'cockroachdb':
      return { ...postgres, name: 'CockroachDB', supportsCursor: false }
    case 'mysql':
    case 'mariadb':
    case 'aurora-mysql':
      return mysql
    case 'better-sqlite3':
    case 'sqljs':
    case 'capacitor':
    case 'cordova':
    case 'expo':
    case 'nativescript':
    case 'react-native':
      return sqlite
    default:
      // Keyset only compares and orders columns, which every SQL database does; the NULL
      // placement default is the common one and users can state it explicitly.
      return { ...sqlite, name: String(type), orderByNulls: false }
  }
}
