/**
 * The fixture part of a conformance driver: an ORM with entities for the shared fixture schema
 * (`schemaStatements`), and the two calls every scenario compares, the reference query and
 * `aiterator`, over a {@link FixtureQuery} the driver spells in its ORM. Columns are named as in the
 * database; the driver finds the property that maps each.
 *
 * @example
 * ```ts
 * const orm = await driver.open(db.url)
 * const query = { table: 'books', orderBy: [{ column: 'published_at', direction: 'desc' }] } as const
 * const expected = await orm.find(withPrimaryKey(query))
 * for await (const books of orm.aiterator(query, { batchYieldSize: 10 })) …
 * ```
 */
import type { ConformanceStrategy, Direction, ErrorClass } from '#src/conformance/driver'
import type { Dialect } from '#src/dialect'

/** The fixture tables the scenarios read (each with an entity in both adapters' drivers). */
export type FixtureTableName = 'books' | 'authors' | 'countries' | 'devices' | 'order_lines'

/** Each table's primary key columns, in order. */
export const fixturePrimaryKeys: Readonly<Record<FixtureTableName, readonly string[]>> = {
  books: ['id'],
  authors: ['id'],
  countries: ['code'],
  devices: ['id'],
  order_lines: ['order_id', 'line_no'],
}

/** One ORDER BY term on a column of the table (database placement of NULLs unless `nulls` says). */
export interface SortTerm {
  readonly column: string
  readonly direction: Direction
  readonly nulls?: 'first' | 'last'
}

/** A query over one fixture table, in the terms both ORMs can spell. */
export interface FixtureQuery {
  readonly table: FixtureTableName
  /** The ORDER BY; none means the adapter's default (the primary key, ascending). */
  readonly orderBy?: readonly SortTerm[]
  /** Only rows whose `column` holds one of `values`. */
  readonly whereIn?: { readonly column: string; readonly values: readonly unknown[] }
  /**
   * A relation loaded with each entity: `'author'` (books' to-one), `'books'` (authors' to-many) or
   * `'tags'` (books' many-to-many). The driver orders to-many children by their id after the query's own
   * order, which must then end with the root's primary key.
   */
  readonly include?: 'author' | 'books' | 'tags'
  /**
   * A condition on an SQL expression over the root table's columns, unqualified (`100 / (rating - 3)`):
   * for conditions only the server evaluates, or rejects.
   */
  readonly whereExpression?: { readonly sql: string; readonly op: '=' | '<>'; readonly value: number }
}

/** `aiterator` options both adapters share, as the scenarios use them. */
export interface FixtureRunOptions {
  strategy?: ConformanceStrategy
  chunkSize?: number
  batchYieldSize?: number
  prefetch?: number
  limit?: number
  after?: string
  signal?: AbortSignal
  onProgress?: (progress: { rows: number; batches: number; chunks: number; cursor?: string | undefined }) => void
  /** Start here: a resume token, or values of the leading sort keys (keyset positions; see the partition scenario). */
  from?: string | readonly unknown[]
  /** Stop here: a resume token (that row is the last), or values of the leading sort keys (the last row before them). */
  to?: string | readonly unknown[]
  /** A descriptor from {@link FixtureOrm.partitions} of the same query. */
  partition?: unknown
}

/** How `partitions()` finds its cuts (the adapters' `method` option). */
export type PartitionMethodName = 'sample' | 'statistics' | 'scan'

/** A connection pool's counts: connections open, idle in the pool, and callers waiting for one. */
export interface PoolState {
  readonly total: number
  readonly idle: number
  readonly waiting: number
}

/** The adapter-specific half of every fixture scenario. */
export interface FixtureDriver {
  /** The adapter's name in test titles (`'TypeORM'`, `'MikroORM'`). */
  readonly adapter: string
  readonly dialect: Dialect
  readonly errors: {
    readonly KeysetOrderingError: ErrorClass
    readonly InvalidResumeTokenError: ErrorClass
    readonly StrategyUnavailableError: ErrorClass
    /** What the ORM throws for an error the database reported (TypeORM `QueryFailedError`, MikroORM `DriverException`). */
    readonly DatabaseError: ErrorClass
    /** The adapter's `InvalidPartitionError` (re-exported from `@batchyield/batch-core`), for the partition scenario. */
    readonly InvalidPartitionError?: ErrorClass
  }
  /** The `partitions()` methods the adapter offers on this dialect, for the partition scenario. */
  readonly partitionMethods?: readonly PartitionMethodName[]
  /** Opens the ORM on `url` (a database with the fixture schema) with entities for every {@link FixtureTableName}. */
  open(url: string, options?: { poolSize?: number }): Promise<FixtureOrm>
}

/** An ORM opened by a {@link FixtureDriver}. */
export interface FixtureOrm {
  /** The reference (TypeORM `getMany()`, MikroORM `em.find` in a fresh fork), ordered exactly by `query.orderBy`. */
  find(query: FixtureQuery): Promise<object[]>
  /**
   * `aiterator` over the query: lists of entities with `batchYieldSize`, single entities without.
   * It may throw at the call.
   */
  aiterator(query: FixtureQuery, options: FixtureRunOptions): AsyncIterableIterator<unknown>
  /** The entity's primary key, as one comparable string. */
  keyOf(entity: object): string
  /** The value of the property that maps `column` of the entity's table, as hydrated. */
  valueOf(entity: object, column: string): unknown
  /** The entity as plain data to compare (its class name and the values the ORM hydrated). */
  plain(entity: object): unknown
  /** How many SQL statements the ORM has sent so far. */
  statements(): number
  /** The connection pool's counts, where the driver can read them (else undefined). */
  poolState(): Promise<PoolState | undefined>
  /**
   * The adapter's `partitions()` of the query (TypeORM: of its query builder; MikroORM: of the entity
   * and find options): at most `count` plain JSON descriptors, in the ordering's order.
   */
  partitions?(query: FixtureQuery, count: number, options?: { method?: PartitionMethodName }): Promise<unknown[]>
  /** The adapter's own invariants after a finished run (MikroORM: nothing left in the entity manager's identity map). */
  checkAfterRun?(): void
  close(): Promise<void>
}

/**
 * `query` with the primary key appended to its order, in the direction of the last term (ascending
 * without an order): the order `aiterator` follows, so the reference query's ties have one answer.
 */
export function withPrimaryKey(query: FixtureQuery): FixtureQuery {
  const order = [...(query.orderBy ?? [])]
  const direction = order.at(-1)?.direction ?? 'asc'
  for (const column of fixturePrimaryKeys[query.table]) {
    if (!order.some((term) => term.column === column)) order.push({ column, direction })
  }
  return { ...query, orderBy: order }
}
