import { type KeyShape, type KeyType, keyType, type RefusedKeyType, type SortKey } from '@batchyield/batch-core'
import type { DataSource, EntityMetadata, ObjectLiteral, OrderByCondition, SelectQueryBuilder } from 'typeorm'
import { type ColumnMetadata, type Dialect, dialectOf } from './dialect.js'
import { dataSourceOf, readQuery } from './internals.js'
import { cloneQuery } from './query-clone.js'

/** One column of the keyset ordering, resolved from ORM metadata. */
export interface KeyColumn {
  readonly key: SortKey
  readonly column: ColumnMetadata
  /** `"alias"."column"`, escaped by the driver. */
  readonly sql: string
  /** How its value is read exactly and what the seek compares (batch-core's rule for the column's type). */
  readonly type: KeyType | RefusedKeyType
}

/** What the strategies need to know about the user's query, read once when `aiterator()` is called. */
export interface QueryPlan<E extends ObjectLiteral> {
  /** A snapshot of the user's query with take/skip/limit/offset removed (the engine does those). */
  readonly base: SelectQueryBuilder<E>
  readonly dataSource: DataSource
  readonly dialect: Dialect
  readonly alias: string
  readonly metadata: EntityMetadata
  /** Joins that can return several rows per root entity (or joins whose cardinality is unknown). */
  readonly toManyJoins: boolean
  /** `take()` (or `limit()` without to-many joins): the total number of entities. */
  readonly take: number | undefined
  /** `skip()` (or `offset()` without to-many joins): entities skipped before the first one. */
  readonly skip: number
  /** The keyset ordering (the query's root-column ORDER BY, then the primary key), if keyset can seek on it. */
  readonly keyset: KeysetOrdering | undefined
  /**
   * The same ordering when it only orders by root columns, whether or not their types can be
   * sought: with to-many joins, the cursor sorts by it so that an entity's rows are adjacent.
   */
  readonly rootOrdering: KeysetOrdering | undefined
  /** Why the query's ordering cannot be followed by keyset, when `keyset` is undefined. */
  readonly keysetProblem: string | undefined
  /** The root primary key columns, escaped. */
  readonly primary: readonly KeyColumn[]
  /** Names the entity in messages and resume-token fingerprints. */
  readonly entityName: string
}

/** The keyset ordering: seek keys, then terms that only order an entity's joined rows. */
export interface KeysetOrdering {
  readonly keys: readonly KeyColumn[]
  readonly rest: OrderByCondition
}

/**
 * Reads the shape of `qb` (root entity, joins, ordering, take/skip) from TypeORM's expression
 * map. Throws TypeError for query builders this adapter cannot stream.
 */
export function planQuery<E extends ObjectLiteral>(qb: SelectQueryBuilder<E>): QueryPlan<E> {
  const map = readQuery(qb)
  const mainAlias = map.mainAlias
  if (mainAlias === undefined) {
    throw new TypeError(
      'aiterator() needs a query builder that selects an entity (e.g. repository.createQueryBuilder("u")); this one has no entity alias',
    )
  }
  if (map.lockMode === 'optimistic') {
    throw new TypeError(
      'aiterator() cannot stream a query with setLock("optimistic"): optimistic locking applies to one entity (use getOne())',
    )
  }
  const metadata = mainAlias.metadata
  const alias = mainAlias.name
  const dataSource = dataSourceOf(qb)
  const dialect = dialectOf(dataSource)
  const toManyJoins = map.joins.some((join) => join.toMany)
  const escaped = (column: ColumnMetadata) => `${qb.escape(alias)}.${qb.escape(column.databaseName)}`

  const pagination = (pageOption: 'take' | 'skip', rawOption: 'limit' | 'offset'): number | undefined => {
    const page = map[pageOption]
    const raw = map[rawOption]
    if (raw !== undefined && toManyJoins) {
      throw new TypeError(
        `aiterator(): ${rawOption}(${raw}) counts SQL rows, and this query joins to-many relations, so it would cut entities apart; use ${pageOption}() instead, which counts entities`,
      )
    }
    if (page !== undefined && raw !== undefined && page !== raw) {
      throw new TypeError(
        `aiterator(): the query sets both ${pageOption}(${page}) and ${rawOption}(${raw}); set one of them`,
      )
    }
    return page ?? raw
  }
  const take = pagination('take', 'limit')
  const skip = pagination('skip', 'offset') ?? 0

  // A cached chunk would be a stale chunk: the result cache is never used for our queries.
  const base = cloneQuery(qb).take(undefined).skip(undefined).limit(undefined).offset(undefined).cache(false)

  const keyColumn = (column: ColumnMetadata, key: SortKey): KeyColumn => ({
    column,
    key,
    sql: escaped(column),
    type: typeOf(dataSource, dialect, column),
  })
  const primary = metadata.primaryColumns.map((column) =>
    keyColumn(column, {
      field: column.databaseName,
      direction: 'asc',
      nulls: dialect.defaultNulls('asc'),
      nullable: false,
    }),
  )
  const ordering =
    map.distinctOn.length > 0
      ? resolveDistinctOn(map.distinctOn, map.orderBys, alias, metadata, dialect, keyColumn, toManyJoins)
      : resolveKeyset(map.orderBys, alias, metadata, dialect, keyColumn)
  const rootOrdering = typeof ordering === 'string' ? undefined : ordering
  const keysetProblem = typeof ordering === 'string' ? ordering : unseekable(ordering, metadata)
  return {
    base,
    dataSource,
    dialect,
    alias,
    metadata,
    toManyJoins,
    take,
    skip,
    keyset: keysetProblem === undefined ? rootOrdering : undefined,
    rootOrdering,
    keysetProblem,
    primary,
    entityName: metadata.name,
  }
}

/**
 * The keyset ordering: the query's leading ORDER BY terms that are columns of the root entity,
 * then the primary key columns they do not already contain (in the direction of the last term,
 * so that an index on `(column, id)` can be scanned either way). Terms after the primary key
 * (e.g. a joined collection's own order) cannot change the order of root entities; they are
 * kept in `rest` and only order each entity's joined rows. Returns the reason as a string when
 * the ordering cannot be followed.
 */
function resolveKeyset(
  orderBys: OrderByCondition,
  alias: string,
  metadata: EntityMetadata,
  dialect: Dialect,
  keyColumn: (column: ColumnMetadata, key: SortKey) => KeyColumn,
): KeysetOrdering | string {
  const keys: KeyColumn[] = []
  const rest: OrderByCondition = {}
  const coversPrimaryKey = () => metadata.primaryColumns.every((pk) => keys.some((k) => k.column === pk))
  for (const [term, value] of Object.entries(orderBys)) {
    if (coversPrimaryKey()) {
      rest[term] = value
      continue
    }
    const column = rootColumn(term, alias, metadata)
    if (column === undefined) {
      return `ORDER BY ${term} is not a column of the root entity ${metadata.name} (alias "${alias}"); keyset seeks on root columns only (terms after the primary key, which only order joined rows, are fine)`
    }
    // isVirtual only means "no entity property" (join, discriminator and tree columns are stored)
    if (column.isVirtualProperty) {
      return `ORDER BY ${term} is a virtual property of ${metadata.name} (computed by a query); keyset can only seek on stored columns`
    }
    if (keys.some((k) => k.column === column)) continue
    const key = sortKey(column, value, dialect)
    if (key.nullable && !dialect.orderByNulls && key.nulls !== dialect.defaultNulls(key.direction)) {
      const order = typeof value === 'string' ? value : value.order
      return `ORDER BY ${term} ${order} NULLS ${key.nulls.toUpperCase()} cannot be written on ${dialect.name}, which puts NULLs ${dialect.defaultNulls(key.direction)} for ${key.direction.toUpperCase()}`
    }
    keys.push(keyColumn(column, key))
  }
  const tieDirection = keys.at(-1)?.key.direction ?? 'asc'
  for (const column of metadata.primaryColumns) {
    if (keys.some((k) => k.column === column)) continue
    keys.push(
      keyColumn(column, {
        field: column.databaseName,
        direction: tieDirection,
        nulls: dialect.defaultNulls(tieDirection),
        nullable: false,
      }),
    )
  }
  return { keys, rest }
}

/**
 * The keyset ordering of a `distinctOn([...])` query (PostgreSQL): the DISTINCT ON columns alone,
 * which are unique in its result, so that the seek skips whole groups already yielded (with the
 * primary key as a key, a later row of a yielded group would pass the seek and become that group's
 * row). Its ORDER BY must start with them, as PostgreSQL requires; the terms after them choose each
 * group's row and are kept in `rest`.
 */
function resolveDistinctOn(
  distinctOn: readonly string[],
  orderBys: OrderByCondition,
  alias: string,
  metadata: EntityMetadata,
  dialect: Dialect,
  keyColumn: (column: ColumnMetadata, key: SortKey) => KeyColumn,
  toManyJoins: boolean,
): KeysetOrdering | string {
  const on = `distinctOn([${distinctOn.join(', ')}])`
  if (toManyJoins) return `${on} with joined to-many relations picks rows, not entities; keyset cannot seek on it`
  const columns: ColumnMetadata[] = []
  for (const term of distinctOn) {
    const column = rootColumn(term.replace(/"/g, ''), alias, metadata)
    if (column === undefined || column.isVirtualProperty)
      return `${on}: ${term} is not a stored column of the root entity ${metadata.name}; keyset seeks on root columns only`
    columns.push(column)
  }
  const terms = Object.entries(orderBys)
  const leading = terms.slice(0, columns.length)
  const keys: KeyColumn[] = []
  for (const [term, value] of leading) {
    const column = rootColumn(term.replace(/"/g, ''), alias, metadata)
    if (column === undefined || !columns.includes(column))
      return `${on} must be the leading ORDER BY terms (PostgreSQL's rule); ORDER BY ${term} comes first`
    keys.push(keyColumn(column, sortKey(column, value, dialect)))
  }
  for (const column of columns) {
    if (!keys.some((k) => k.column === column)) keys.push(keyColumn(column, sortKey(column, 'ASC', dialect)))
  }
  return { keys, rest: Object.fromEntries(terms.slice(leading.length)) }
}

/** A root column's sort key for one ORDER BY value (`'DESC'` or `{ order, nulls }`). */
function sortKey(column: ColumnMetadata, value: OrderByCondition[string], dialect: Dialect): SortKey {
  const order = typeof value === 'string' ? value : value.order
  const direction = String(order).toUpperCase() === 'DESC' ? 'desc' : 'asc'
  const explicit =
    typeof value === 'object' && value.nulls !== undefined
      ? value.nulls.toUpperCase().endsWith('FIRST')
        ? 'first'
        : 'last'
      : undefined
  return {
    field: column.databaseName,
    direction,
    nulls: explicit ?? dialect.defaultNulls(direction),
    nullable: column.isNullable && !column.isPrimary,
  }
}

/** Why keyset cannot seek on one of the ordering's column types (batch-core's table), if it cannot. */
function unseekable(ordering: KeysetOrdering, metadata: EntityMetadata): string | undefined {
  for (const { column, type } of ordering.keys) {
    if (type.kind === 'refused')
      return `ORDER BY ${metadata.name}.${column.propertyPath} (${column.databaseName}, ${type.type}): ${type.reason}`
  }
  return undefined
}

/** batch-core's seek rule for a column, from the database type TypeORM creates it with. */
function typeOf(dataSource: DataSource, dialect: Dialect, column: ColumnMetadata): KeyType | RefusedKeyType {
  const type = dataSource.driver.normalizeType(column)
  return keyType(dialect.keyDialect, typeof type === 'string' ? type : String(type))
}

/** `alias.propertyPath` or `alias.database_name` of a column of the root entity. */
function rootColumn(term: string, alias: string, metadata: EntityMetadata): ColumnMetadata | undefined {
  if (!term.startsWith(`${alias}.`)) return undefined
  const path = term.slice(alias.length + 1)
  return metadata.findColumnWithPropertyPath(path) ?? metadata.findColumnWithDatabaseName(path)
}

/** The SQL that reads a key's value exactly (the column itself for a type keyset refuses: only a cursor reads those). */
export function readSql(key: KeyColumn): string {
  return key.type.kind === 'exact' ? key.type.read(key.sql) : key.sql
}

/** The SQL the seek compares with a key's value. */
export function compareSql(key: KeyColumn): string {
  return key.type.kind === 'exact' ? key.type.compare(key.sql) : key.sql
}

/** What resume tokens and partition descriptors of this keyset ordering are tied to: its keys and the table. */
export function keyShapeOf(plan: QueryPlan<ObjectLiteral>, ordering: KeysetOrdering): KeyShape {
  return { keys: ordering.keys.map((k) => k.key), fingerprint: `typeorm:${plan.metadata.tablePath}` }
}
