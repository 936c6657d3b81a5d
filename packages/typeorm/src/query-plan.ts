import type { SortKey } from '@batchyield/batch-core'
import type { DataSource, EntityMetadata, ObjectLiteral, OrderByCondition, SelectQueryBuilder } from 'typeorm'
import { type ColumnMetadata, type Dialect, dialectOf } from './dialect.js'
import { cloneQuery } from './query-clone.js'

/** One column of the keyset ordering, resolved from ORM metadata. */
export interface KeyColumn {
  readonly key: SortKey
  readonly column: ColumnMetadata
  /** `"alias"."column"`, escaped by the driver. */
  readonly sql: string
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
  /** The keyset ordering (the query's root-column ORDER BY, then the primary key), if there is one. */
  readonly keyset: KeysetOrdering | undefined
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
  const map = qb.expressionMap
  const mainAlias = map.mainAlias
  if (!mainAlias?.hasMetadata) {
    throw new TypeError('aiterator() needs a query builder that selects an entity (e.g. repository.createQueryBuilder("u")); this one has no entity alias')
  }
  if (map.lockMode === 'optimistic') {
    throw new TypeError('aiterator() cannot stream a query with setLock("optimistic"): optimistic locking applies to one entity (use getOne())')
  }
  const metadata = mainAlias.metadata
  const alias = mainAlias.name
  const dataSource = qb.connection
  const dialect = dialectOf(dataSource)
  const toManyJoins = map.joinAttributes.some((join) => join.relation === undefined || join.isMany)
  const escaped = (column: ColumnMetadata) => `${qb.escape(alias)}.${qb.escape(column.databaseName)}`

  const pagination = (pageOption: 'take' | 'skip', rawOption: 'limit' | 'offset'): number | undefined => {
    const page = map[pageOption]
    const raw = map[rawOption]
    if (raw !== undefined && raw !== null && toManyJoins) {
      throw new TypeError(
        `aiterator(): ${rawOption}(${raw}) counts SQL rows, and this query joins to-many relations, so it would cut entities apart; use ${pageOption}() instead, which counts entities`,
      )
    }
    if (page !== undefined && page !== null && raw !== undefined && raw !== null && page !== raw) {
      throw new TypeError(`aiterator(): the query sets both ${pageOption}(${page}) and ${rawOption}(${raw}); set one of them`)
    }
    return page ?? raw ?? undefined
  }
  const take = pagination('take', 'limit')
  const skip = pagination('skip', 'offset') ?? 0

  const base = cloneQuery(qb)
  base.expressionMap.take = undefined
  base.expressionMap.skip = undefined
  base.expressionMap.limit = undefined
  base.expressionMap.offset = undefined
  // A cached chunk would be a stale chunk: the result cache is never used for our queries.
  base.expressionMap.cache = false

  const primary = metadata.primaryColumns.map((column) => ({
    column,
    sql: escaped(column),
    key: { field: column.databaseName, direction: 'asc', nulls: dialect.defaultNulls('asc'), nullable: false } satisfies SortKey,
  }))
  const ordering = resolveKeyset(map.allOrderBys, alias, metadata, dialect, escaped)
  return {
    base,
    dataSource,
    dialect,
    alias,
    metadata,
    toManyJoins,
    take,
    skip,
    keyset: typeof ordering === 'string' ? undefined : ordering,
    keysetProblem: typeof ordering === 'string' ? ordering : undefined,
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
  escaped: (column: ColumnMetadata) => string,
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
    if (column.isVirtualProperty || column.isVirtual) {
      return `ORDER BY ${term} is a virtual column of ${metadata.name}; keyset can only seek on stored columns`
    }
    if (keys.some((k) => k.column === column)) continue
    const order = typeof value === 'string' ? value : value.order
    const direction = String(order).toUpperCase() === 'DESC' ? 'desc' : 'asc'
    const explicit = typeof value === 'object' && value.nulls !== undefined ? (value.nulls.toUpperCase().endsWith('FIRST') ? 'first' : 'last') : undefined
    const nullable = column.isNullable && !column.isPrimary
    const nulls = explicit ?? dialect.defaultNulls(direction)
    if (nullable && !dialect.orderByNulls && nulls !== dialect.defaultNulls(direction)) {
      return `ORDER BY ${term} ${order} NULLS ${nulls.toUpperCase()} cannot be written on ${dialect.name}, which puts NULLs ${dialect.defaultNulls(direction)} for ${direction.toUpperCase()}`
    }
    keys.push({ column, sql: escaped(column), key: { field: column.databaseName, direction, nulls, nullable } })
  }
  const tieDirection = keys.at(-1)?.key.direction ?? 'asc'
  for (const column of metadata.primaryColumns) {
    if (keys.some((k) => k.column === column)) continue
    keys.push({ column, sql: escaped(column), key: { field: column.databaseName, direction: tieDirection, nulls: dialect.defaultNulls(tieDirection), nullable: false } })
  }
  return { keys, rest }
}

/** `alias.propertyPath` or `alias.database_name` of a column of the root entity. */
function rootColumn(term: string, alias: string, metadata: EntityMetadata): ColumnMetadata | undefined {
  if (!term.startsWith(`${alias}.`)) return undefined
  const path = term.slice(alias.length + 1)
  return metadata.findColumnWithPropertyPath(path) ?? metadata.findColumnWithDatabaseName(path)
}
