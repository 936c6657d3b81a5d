import type {
  DataSource,
  EntityMetadata,
  ObjectLiteral,
  OrderByCondition,
  QueryRunner,
  SelectQueryBuilder,
} from 'typeorm'

/**
 * The one seam between this adapter and what TypeORM and node-postgres do not document: protected
 * methods of the query builder, fields of its expression map, query-runner and pg client members.
 * Every such access is here, checked before use.
 *
 * What the running TypeORM offers is found once per `SelectQueryBuilder` class (one per copy of
 * TypeORM), by feature checks and by probes that prove an override is honoured ({@link pathsOf}).
 * Each fast path has a path through TypeORM's public API beside it that gives the same entities:
 * - keyset: fast, the adapter reads each chunk's raw rows itself and hydrates them with TypeORM's
 *   `executeEntitiesAndRawResults()` in slices, the next chunk's read sent ahead; public,
 *   `getRawAndEntities()` per chunk.
 * - cursor: fast, the FETCHed rows are hydrated by `executeEntitiesAndRawResults()`; public, each
 *   chunk's entities are loaded by `getRawAndEntities()` of their primary keys, in the cursor's
 *   transaction (so from its snapshot), and put in the cursor's order.
 * - node-postgres: chunk reads by the client's callback API and by a protocol-level Execute of
 *   the cursor; anything else, TypeORM's own `queryRunner.query()`.
 * A version whose internals do not match degrades to the public paths, never to a wrong or
 * unbounded query: a probe's query selects nothing (`1 = 0`), and a fast hydration checks that
 * TypeORM took the rows it was handed (else it throws).
 *
 * `BATCHYIELD_TYPEORM_PATHS=public` in the environment takes the public paths on any version.
 */

/** Which path each strategy takes on one TypeORM copy (see the module comment). */
export interface Paths {
  keyset: 'fast' | 'public'
  cursor: 'fast' | 'public'
}

/** Thrown when TypeORM lacks an internal that has no public equivalent; names it and the versions tested. */
export class UnsupportedTypeormError extends Error {
  override name = 'UnsupportedTypeormError'
}

function missing(what: string): UnsupportedTypeormError {
  return new UnsupportedTypeormError(
    `@batchyield/typeorm cannot stream with this TypeORM: its query builder has no ${what}. Supported and tested: TypeORM ^0.3.20 (0.3.31) and ^1.0.0 (1.0.0, 1.1.3)`,
  )
}

// ---------------------------------------------------------------------------------------------
// Detection

let detected = new WeakMap<object, Promise<Paths>>()

/** Forgets what was found, so the next run probes again (for tests that change TypeORM's prototypes). */
export function forgetDetectedPaths(): void {
  detected = new WeakMap()
}

/**
 * The paths this query builder's TypeORM takes, found at the first call for its class: the
 * protected hooks exist, and overriding them is proven to replace the SQL round trip (a probe whose
 * query would select nothing, sent only if the override were ignored).
 */
export function pathsOf(qb: SelectQueryBuilder<ObjectLiteral>): Promise<Paths> {
  const key = qb.constructor
  let paths = detected.get(key)
  if (paths === undefined) {
    paths = detect(qb)
    detected.set(key, paths)
    // a probe that failed (the database was down) is tried again by the next run
    paths.catch(() => detected.delete(key))
  }
  return paths
}

async function detect(qb: SelectQueryBuilder<ObjectLiteral>): Promise<Paths> {
  const forced =
    (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env
      ?.BATCHYIELD_TYPEORM_PATHS === 'public'
  const metadata = readQuery(qb).mainAlias?.metadata
  const hooks = hasHydrationHooks(qb)
  if (forced || !hooks || metadata === undefined) return { keyset: 'public', cursor: 'public' }
  const dataSource = dataSourceOf(qb)
  const probe = () => {
    const query = dataSource.createQueryBuilder(
      metadata.target,
      'batchyield_probe',
    ) as SelectQueryBuilder<ObjectLiteral>
    appendCondition(query, '1 = 0')
    return query
  }
  if (!probe().getQuery().includes('1 = 0')) throw missing('extraAppendedAndWhereCondition that reaches the SQL')
  const runner = dataSource.createQueryRunner()
  let hydrates: boolean
  try {
    const hydration = hydrationOf(probe(), runner, [])
    await hydration.result
    hydrates = hydration.handed()
  } finally {
    await runner.release()
  }
  const readsRaw = hydrates && (await rawRowsOf(probe(), async () => [])).handed
  return { keyset: readsRaw ? 'fast' : 'public', cursor: hydrates ? 'fast' : 'public' }
}

/** The protected hooks and expression-map fields the fast hydration reads (TypeORM 0.3 and 1.x). */
function hasHydrationHooks(qb: SelectQueryBuilder<ObjectLiteral>): boolean {
  const execution = qb as unknown as Partial<EntityExecution>
  const map = qb.expressionMap as unknown as Record<string, unknown>
  return (
    typeof execution.loadRawResults === 'function' &&
    typeof execution.executeEntitiesAndRawResults === 'function' &&
    Array.isArray(execution.relationMetadatas) &&
    'queryEntity' in map &&
    Array.isArray(map.relationIdAttributes) &&
    'relationLoadStrategy' in map
  )
}

// ---------------------------------------------------------------------------------------------
// The query builder: data source, query runner, expression map

/** The query builder's data source: `dataSource` since TypeORM 1.0 (`connection` stays as a deprecated getter), `connection` on 0.3. */
export function dataSourceOf(qb: SelectQueryBuilder<ObjectLiteral>): DataSource {
  const dataSource = (qb as { dataSource?: DataSource }).dataSource ?? qb.connection
  if (dataSource === undefined) throw missing('data source (dataSource or connection)')
  return dataSource
}

/**
 * The query runner the query builder was made on (a transaction's manager's): protected in the
 * typings, and every statement of a run must go to it. Undefined: the run takes its own.
 */
export function queryRunnerOf(qb: SelectQueryBuilder<ObjectLiteral>): QueryRunner | undefined {
  // the constructor assigns it, undefined or not: a builder without the field would hide a transaction
  if (!('queryRunner' in qb)) throw missing('queryRunner field (the transaction it runs in)')
  return (qb as unknown as { queryRunner?: QueryRunner }).queryRunner
}

/** A join of the query, as the adapter reads it. */
export interface JoinParts {
  /** Joins to-many relations, or joins something other than a relation (cardinality unknown). */
  readonly toMany: boolean
  readonly inner: boolean
  /** The joined entity or `alias.property` path, as written. */
  readonly target: string
  readonly alias: string
  readonly condition: string
}

/** What the adapter reads of a query from its expression map. */
export interface QueryParts {
  /** The root entity's alias, when the query selects an entity. */
  readonly mainAlias: { readonly name: string; readonly metadata: EntityMetadata } | undefined
  readonly lockMode: string | undefined
  readonly joins: readonly JoinParts[]
  readonly take: number | undefined
  readonly skip: number | undefined
  readonly limit: number | undefined
  readonly offset: number | undefined
  /** PostgreSQL's `DISTINCT ON` expressions. */
  readonly distinctOn: readonly string[]
  /** Every ORDER BY term, as `orderBy()`/`addOrderBy()` and find options set them. */
  readonly orderBys: OrderByCondition
}

/** Reads the query's shape from its expression map (a public field whose type TypeORM does not document). */
export function readQuery(qb: SelectQueryBuilder<ObjectLiteral>): QueryParts {
  const map = qb.expressionMap as unknown as Partial<ExpressionMap> | undefined
  if (map === undefined || !Array.isArray(map.joinAttributes) || !('allOrderBys' in map))
    throw missing('expressionMap with joinAttributes and allOrderBys')
  const main = map.mainAlias?.hasMetadata ? map.mainAlias : undefined
  return {
    mainAlias: main === undefined ? undefined : { name: main.name, metadata: main.metadata },
    lockMode: map.lockMode,
    joins: map.joinAttributes.map((join) => ({
      toMany: join.relation === undefined || join.isMany,
      inner: join.direction === 'INNER',
      target: typeof join.entityOrProperty === 'function' ? join.entityOrProperty.name : String(join.entityOrProperty),
      alias: join.alias.name,
      condition: join.condition ?? '',
    })),
    take: map.take ?? undefined,
    skip: map.skip ?? undefined,
    limit: map.limit ?? undefined,
    offset: map.offset ?? undefined,
    distinctOn: map.selectDistinctOn ?? [],
    // (the getter reads the entity's default order, so only with an entity)
    orderBys: main === undefined ? {} : (map.allOrderBys ?? {}),
  }
}

/**
 * ANDs `sql` to the query. TypeORM renders `extraAppendedAndWhereCondition` as
 * `WHERE ( <the query's own conditions> ) AND ( <this> )`, so the user's `a OR b` stays bracketed
 * (a public `andWhere()` would give `a OR b AND seek`). Checked by {@link pathsOf}'s probe.
 */
export function appendCondition(qb: SelectQueryBuilder<ObjectLiteral>, sql: string): void {
  const map = qb.expressionMap as unknown as { extraAppendedAndWhereCondition?: string }
  if (!('extraAppendedAndWhereCondition' in map))
    throw missing('extraAppendedAndWhereCondition (how a condition is ANDed to the whole WHERE)')
  map.extraAppendedAndWhereCondition = map.extraAppendedAndWhereCondition
    ? `(${map.extraAppendedAndWhereCondition}) AND (${sql})`
    : sql
}

/** Makes `getQuery()` render the SQL `getMany()` runs (which adds the primary columns of joined entities). */
export function asEntityQuery(qb: SelectQueryBuilder<ObjectLiteral>): void {
  ;(qb.expressionMap as unknown as { queryEntity: boolean }).queryEntity = true
}

/**
 * `qb.clone()` copies the expression map but not the find options, the relations that
 * `relationLoadStrategy: 'query'` loads after the query, or the eager-load chain (TypeORM 1.x):
 * copies those that the TypeORM has.
 */
export function copyFindOptionsState(
  from: SelectQueryBuilder<ObjectLiteral>,
  to: SelectQueryBuilder<ObjectLiteral>,
): void {
  const source = from as unknown as Partial<FindOptionsState>
  const target = to as unknown as Partial<FindOptionsState>
  if ('findOptions' in source) target.findOptions = source.findOptions
  if (Array.isArray(source.relationMetadatas)) target.relationMetadatas = [...source.relationMetadatas]
  if (source.eagerLoadChain instanceof Set) target.eagerLoadChain = new Set(source.eagerLoadChain)
}

/**
 * The WHERE clause alone, from the protected `createWhereExpression()` (since TypeORM 0.2). Without
 * it, the whole SQL stands in: stricter (another select list is then another query), never looser.
 */
export function whereClauseOf(qb: SelectQueryBuilder<ObjectLiteral>): string {
  const create = (qb as unknown as { createWhereExpression?: unknown }).createWhereExpression
  return typeof create === 'function' ? String(create.call(qb)) : qb.getQuery()
}

/** Makes the root alias read `subQuery` instead of its table (TypeORM renders such an alias as `(subQuery) "alias"`). */
export function readRootFrom(qb: SelectQueryBuilder<ObjectLiteral>, alias: string, subQuery: string): void {
  const aliases = (qb.expressionMap as unknown as { aliases?: { type: string; name: string; subQuery?: string }[] })
    .aliases
  const root = aliases?.find((a) => a.type === 'from' && a.name === alias)
  if (root === undefined) throw missing(`FROM alias ${alias} in expressionMap.aliases`)
  root.subQuery = subQuery
}

// ---------------------------------------------------------------------------------------------
// Hydration and raw rows

/**
 * Whether TypeORM's hydration of `executed` (a query whose entities were just loaded) sent
 * statements of its own: relation ids (executeEntitiesAndRawResults() has added the entity's
 * `@RelationId` properties to the attributes by then), relation counts (0.3's `@RelationCount`),
 * relations loaded by `relationLoadStrategy: 'query'`.
 */
export function hydrationSendsStatements(executed: SelectQueryBuilder<ObjectLiteral>): boolean {
  const map = executed.expressionMap as unknown as Partial<ExpressionMap> & { relationCountAttributes?: unknown[] }
  return (
    (map.relationIdAttributes?.length ?? 0) > 0 ||
    (map.relationCountAttributes?.length ?? 0) > 0 ||
    (map.relationLoadStrategy === 'query' &&
      ((executed as unknown as Partial<EntityExecution>).relationMetadatas?.length ?? 0) > 0)
  )
}

/**
 * Starts TypeORM's own hydration of raw rows that `execution`'s SQL returned, the path `getMany()`
 * takes (`executeEntitiesAndRawResults()`), with only the SQL round trip (`loadRawResults()`)
 * replaced by the rows given; `execution` is a clone the caller owns. `handed()` tells afterwards
 * whether TypeORM asked for the rows. Used only where {@link pathsOf}'s probe proved that it does
 * (the probe's query selects nothing, so a TypeORM that ignores the override reads no table); a
 * per-slice `1 = 0` here made every slice's entities outlive young-generation GCs. Not async itself
 * for the same reason: the caller awaits TypeORM's promise directly.
 */
export function hydrationOf<E extends ObjectLiteral>(
  execution: SelectQueryBuilder<E>,
  queryRunner: QueryRunner,
  rows: readonly unknown[],
): { readonly result: Promise<{ entities: unknown[] }>; handed(): boolean } {
  const target = execution as unknown as EntityExecution
  let handed = false
  asEntityQuery(execution)
  target.loadRawResults = async () => {
    handed = true
    return [...rows]
  }
  return { result: target.executeEntitiesAndRawResults(queryRunner), handed: () => handed }
}

/** Thrown by a hydration whose rows TypeORM did not ask for (checked at first use, so only on a TypeORM that changed under a run). */
export function overrideIgnored(): Error {
  return new Error(
    "internal: TypeORM hydrated without asking loadRawResults() for the rows (checked at first use; set BATCHYIELD_TYPEORM_PATHS=public to take TypeORM's public API)",
  )
}

/**
 * Runs `query` as `getRawAndEntities()` does (its query runner, or one from the pool, released
 * after; its transaction handling) but with `load` reading the raw rows, which are returned
 * unhydrated. `handed`: the override was honoured; when it was not, TypeORM ran the (bounded) query
 * itself and `rows` are its raw rows.
 */
export async function rawRowsOf(
  query: SelectQueryBuilder<ObjectLiteral>,
  load: (queryRunner: QueryRunner) => Promise<Record<string, unknown>[]>,
): Promise<{ rows: Record<string, unknown>[]; handed: boolean }> {
  let handed = false
  ;(query as unknown as EntityExecution).executeEntitiesAndRawResults = async (queryRunner) => {
    handed = true
    return { raw: await load(queryRunner), entities: [] }
  }
  const { raw } = await query.getRawAndEntities()
  return { rows: raw as Record<string, unknown>[], handed }
}

/** TypeORM's own raw read of `query` on `queryRunner` (protected `loadRawResults()`: result cache, `queryRunner.query()`). */
export function typeormRawRows(
  query: SelectQueryBuilder<ObjectLiteral>,
  queryRunner: QueryRunner,
): Promise<Record<string, unknown>[]> {
  return (query as unknown as EntityExecution).loadRawResults(queryRunner) as Promise<Record<string, unknown>[]>
}

// ---------------------------------------------------------------------------------------------
// Query runner and node-postgres

/**
 * Gives the runner's connection back destroyed rather than pooled: PostgreSQL's query runner
 * `releasePostgresConnection(error)` (internal). False when the runner has none (then release it).
 */
export async function releaseDestroyed(runner: QueryRunner, reason: Error): Promise<boolean> {
  const release = (runner as unknown as { releasePostgresConnection?: (error?: unknown) => Promise<void> })
    .releasePostgresConnection
  if (typeof release !== 'function') return false
  await release.call(runner, reason)
  return true
}

/** node-postgres's JavaScript client (pg/lib/client.js), as the adapter's own chunk reads use it. */
export interface NodePostgresClient {
  query(...args: unknown[]): unknown
  /** Its wire connection (pg/lib/connection.js): the protocol messages pg-cursor sends too. */
  connection: {
    describe(message: { type: 'P'; name: string }, more: boolean): void
    execute(message: { portal: string; rows: number }, more: boolean): void
    sync(): void
    stream?: Socket
  }
}

/** The client's socket, as readsInTurns() and a forced close use it. */
interface Socket {
  cork?(): void
  uncork?(): void
  destroy?(): void
  on?(event: string, listener: (...args: never[]) => void): unknown
}

/** `client` as node-postgres's JavaScript client, or undefined for anything else (pg-native, another driver). */
export function nodePostgresClient(client: unknown): NodePostgresClient | undefined {
  const candidate = client as Partial<NodePostgresClient> | undefined
  const connection = candidate?.connection as Partial<NodePostgresClient['connection']> | undefined
  if (typeof candidate?.query !== 'function') return undefined
  if (
    typeof connection?.describe !== 'function' ||
    typeof connection.execute !== 'function' ||
    typeof connection.sync !== 'function'
  )
    return undefined
  return candidate as NodePostgresClient
}

/** The socket of a node-postgres client (undefined if it has none the adapter can read). */
export function socketOf(client: NodePostgresClient): Socket | undefined {
  return client.connection.stream
}

/** node-postgres's row parser (`pg.Result`) from TypeORM's PostgreSQL driver, which keeps the loaded pg module as `postgres`. */
export function pgResultClass(driver: unknown): (new (rowMode?: string, types?: unknown) => PgRowParser) | undefined {
  const Result = (driver as { postgres?: { Result?: unknown } } | undefined)?.postgres?.Result
  return typeof Result === 'function' ? (Result as new () => PgRowParser) : undefined
}

/** node-postgres's row parser: the client gives it its type parsers (`_types`) when the query is queued. */
export interface PgRowParser {
  addFields(fields: unknown[]): void
  parseRow(fields: unknown[]): Record<string, unknown>
}

// ---------------------------------------------------------------------------------------------
// TypeORM's shapes, as far as the adapter reads them

/** The TypeORM internals that `getMany()` runs after the query (protected in its typings). */
interface EntityExecution {
  loadRawResults(queryRunner: QueryRunner): Promise<unknown[]>
  executeEntitiesAndRawResults(queryRunner: QueryRunner): Promise<{ raw: unknown[]; entities: unknown[] }>
  relationMetadatas: unknown[]
}

/** The parts of a SelectQueryBuilder that `clone()` leaves behind. */
interface FindOptionsState {
  findOptions: unknown
  relationMetadatas: unknown[]
  eagerLoadChain: Set<string>
}

/** The expression-map fields the adapter reads (TypeORM's QueryExpressionMap). */
interface ExpressionMap {
  mainAlias: { hasMetadata: boolean; name: string; metadata: EntityMetadata } | undefined
  lockMode: string | undefined
  joinAttributes: {
    relation?: unknown
    isMany: boolean
    direction: string
    entityOrProperty: unknown
    alias: { name: string }
    condition?: string
  }[]
  take: number | undefined
  skip: number | undefined
  limit: number | undefined
  offset: number | undefined
  selectDistinctOn: string[]
  allOrderBys: OrderByCondition
  relationIdAttributes: unknown[]
  relationLoadStrategy: string
}
