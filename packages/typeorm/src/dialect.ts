import type { KeyDialect, NullsPlacement, SortDirection } from '@batchyield/batch-core'
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
  /** Which of batch-core's key-type tables applies (how each column type is sought exactly). */
  readonly keyDialect: KeyDialect
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
}

const postgres: Dialect = {
  name: 'PostgreSQL',
  keyDialect: 'postgresql',
  supportsCursor: true,
  orderByNulls: true,
  ordersByPinnedNullKey: true,
  arrayParameters: true,
  defaultNulls: (direction) => (direction === 'asc' ? 'last' : 'first'),
}

const mysql: Dialect = {
  name: 'MariaDB/MySQL',
  keyDialect: 'mysql',
  supportsCursor: false,
  orderByNulls: false,
  ordersByPinnedNullKey: false,
  arrayParameters: false,
  defaultNulls: (direction) => (direction === 'asc' ? 'first' : 'last'),
}

const sqlite: Dialect = {
  name: 'SQLite',
  keyDialect: 'sqlite',
  supportsCursor: false,
  orderByNulls: true,
  ordersByPinnedNullKey: true,
  arrayParameters: false,
  defaultNulls: (direction) => (direction === 'asc' ? 'first' : 'last'),
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
