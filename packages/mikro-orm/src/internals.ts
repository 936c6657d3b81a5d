import {
  type EntityManager,
  type EntityMetadata,
  type EntityName,
  type EntityProperty,
  helper,
  RawQueryFragment,
  Utils,
  WrappedEntity,
} from '@mikro-orm/core'

/**
 * The one seam between this adapter and what MikroORM, Kysely and node-postgres do not document:
 * protected and `@internal` members of the EntityManager, its driver, connection, unit of work and
 * query builder, and pg pool and client fields. Each such access is a function here with the reason
 * it is needed and what happens without it.
 *
 * What the running MikroORM offers is found once per EntityManager class (one per copy of
 * MikroORM and driver), at first use ({@link pathsOf}); the chunk loops then only read the result.
 * Each fast path has a path through MikroORM's public API beside it that gives the same entities:
 * - find (em.aiterator chunks that populate nothing, keyset and cursor): fast, the adapter runs
 *   em.find's two halves itself (the driver's query, then the entities, created in slices, the next
 *   chunk's read sent ahead; on PostgreSQL read through pg's callback API); public, `fork.find()` per
 *   chunk (keyset: the seek condition, order and limit; cursor: the FETCHed primary keys).
 * - entity creation (within the fast find): fast, the adapter's creator (entity-creator.ts); public,
 *   MikroORM's `EntityFactory.create` with em.find's options.
 * A fast path is taken only on a MikroORM line it was tested on and whose members it uses are
 * there; any other version takes the public paths: slower, never wrong. Guards check that a fast
 * path is in effect where it runs (the driver's query carries the chunk's limit, the entities
 * created are the rows handed over), and otherwise take the public path or throw an
 * {@link UnsupportedMikroOrmError}; no path runs a query without the chunk's bound.
 *
 * `BATCHYIELD_MIKRO_PATHS=public` in the environment takes the public paths on any version.
 */

/** Which path each part takes on one MikroORM copy (see the module comment). */
export interface Paths {
  /** em.aiterator chunks that populate nothing: em.find's halves run by the adapter, or `fork.find()`. */
  readonly find: 'fast' | 'public'
  /** Entities of the fast find: the adapter's creator, or `EntityFactory.create`. */
  readonly creator: 'fast' | 'public'
  /**
   * Chunk reads on MikroORM's own pg pool through pg's callback API, read in turns of the event loop;
   * public, through pg's promise API as Kysely sends them, still on a client the adapter takes from
   * that pool where MikroORM hands the pool out (`getNativeClient()`, 7.2), so that an abort can cancel them.
   */
  readonly pgCallback: 'fast' | 'public'
}

/** Thrown when MikroORM lacks an internal that has no public equivalent; names it and the versions tested. */
export class UnsupportedMikroOrmError extends Error {
  override name = 'UnsupportedMikroOrmError'
}

/** The MikroORM lines this adapter is tested on, as error messages name them. */
export const TESTED_LINES =
  'MikroORM 7.2 (7.2.1; PostgreSQL 7.2.5, SQLite 7.2.2), 7.1 (7.1.15; SQLite 7.1.14, MariaDB 7.1.13), 7.0 (7.0.17; SQLite 7.0.5), 6.6 (6.6.16), 6.5 (6.5.9), 6.4 (6.4.16)'

function missing(what: string): UnsupportedMikroOrmError {
  return new UnsupportedMikroOrmError(
    `@batchyield/mikro-orm cannot stream with this MikroORM (${Utils.getORMVersion()}): it has no ${what}. Supported and tested: ${TESTED_LINES}`,
  )
}

/**
 * The lines each fast path was written against and tested on (a line is added here when the
 * version matrix runs it). Other versions take the public paths.
 */
const FAST_FIND_LINES = /^7\.2\./
export const FAST_CREATOR_LINES = /^7\.2\./
const PG_CALLBACK_LINES = /^7\.2\./

// ---------------------------------------------------------------------------------------------
// Detection

let detected = new WeakMap<object, Paths>()

/** Forgets what was found, so the next run detects again (for tests that change MikroORM's prototypes). */
export function forgetDetectedPaths(): void {
  detected = new WeakMap()
}

/** The public paths are forced by `BATCHYIELD_MIKRO_PATHS=public`. */
export function publicPathsForced(): boolean {
  return (
    (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.BATCHYIELD_MIKRO_PATHS ===
    'public'
  )
}

/** The paths `em`'s MikroORM takes, found at the first call for its EntityManager class. */
export function pathsOf(em: EntityManager): Paths {
  const key = em.constructor
  let paths = detected.get(key)
  if (paths === undefined) {
    // on a fork: a global EntityManager with allowGlobalContext off (NestJS's injected one) throws on
    // its context-bound state (unit of work, entity factory)
    paths = detect(em.fork())
    detected.set(key, paths)
  }
  return paths
}

const PUBLIC: Paths = { find: 'public', creator: 'public', pgCallback: 'public' }

function detect(em: EntityManager): Paths {
  if (publicPathsForced()) return PUBLIC
  const version = Utils.getORMVersion()
  const find = FAST_FIND_LINES.test(version) && hasFindSteps(em) ? 'fast' : 'public'
  const creator = find === 'fast' && FAST_CREATOR_LINES.test(version) && hasCreatorInternals(em) ? 'fast' : 'public'
  const pgCallback = find === 'fast' && PG_CALLBACK_LINES.test(version) ? 'fast' : 'public'
  return { find, creator, pgCallback }
}

/** The protected and internal steps of `EntityManager.find` that the fast find runs itself. */
function hasFindSteps(em: EntityManager): boolean {
  const steps = em as unknown as Partial<Record<keyof FindSteps, unknown>>
  const unitOfWork = em.getUnitOfWork() as unknown as { dispatchOnLoadEvent?: unknown }
  return (
    typeof steps.prepareOptions === 'function' &&
    typeof steps.processWhere === 'function' &&
    typeof steps.createPopulateWhere === 'function' &&
    typeof steps.getJoinedFilters === 'function' &&
    typeof steps.preparePopulate === 'function' &&
    typeof unitOfWork.dispatchOnLoadEvent === 'function' &&
    typeof (WrappedEntity.prototype as unknown as { setSerializationContext?: unknown }).setSerializationContext ===
      'function' &&
    typeof (em.getDriver() as { find?: unknown }).find === 'function'
  )
}

/** What the adapter's entity creator calls besides the find steps (entity-creator.ts). */
function hasCreatorInternals(em: EntityManager): boolean {
  const identityMap = em.getUnitOfWork().getIdentityMap() as unknown as Partial<Record<string, unknown>>
  const unitOfWork = em.getUnitOfWork() as unknown as Partial<Record<string, unknown>>
  const factory = em.getEntityFactory() as unknown as Partial<Record<string, unknown>>
  return (
    typeof identityMap.getPkHash === 'function' &&
    typeof identityMap.getStore === 'function' &&
    typeof identityMap.getByEntity === 'function' &&
    typeof unitOfWork.normalizeEntityData === 'function' &&
    typeof unitOfWork.register === 'function' &&
    typeof factory.findEntity === 'function' &&
    typeof (Utils as unknown as Record<string, unknown>).callCompiledFunction === 'function'
  )
}

// ---------------------------------------------------------------------------------------------
// EntityManager.find's steps (fast find)

/** The protected and `@internal` steps of `EntityManager.find` (MikroORM 7.2) that the fast find reuses. */
export interface FindSteps {
  prepareOptions(options: Record<string, unknown>): Record<string, unknown>
  processWhere(
    entityName: EntityName<object>,
    where: object,
    options: Record<string, unknown>,
    type: 'read',
  ): Promise<object>
  createPopulateWhere(where: object, options: Record<string, unknown>): object
  getJoinedFilters(meta: object, options: Record<string, unknown>): Promise<object | undefined>
  preparePopulate(entityName: EntityName<object>, options: object): Promise<unknown[]>
}

/**
 * em.find's steps on `em`, when the fast find is taken; undefined: run `em.find` itself (the public path).
 * Why: em.find creates a whole chunk's entities in one synchronous block (see find-in-slices.ts).
 */
export function findSteps(em: EntityManager): FindSteps | undefined {
  return pathsOf(em).find === 'fast' ? (em as unknown as FindSteps) : undefined
}

/**
 * Guard of the fast find: the options em.find's `prepareOptions` made keep the chunk's `limit` (the
 * driver's query is then bounded as the chunk asked). False: the caller runs `em.find` instead.
 */
export function keepsBound(prepared: Record<string, unknown>, requested: Record<string, unknown>): boolean {
  return prepared.limit === requested.limit
}

/** em.find's last step for the entities of a plain read: `uow.dispatchOnLoadEvent()` (internal). Checked by {@link pathsOf}. */
export function dispatchOnLoad(em: EntityManager): Promise<void> {
  return (em.getUnitOfWork() as unknown as { dispatchOnLoadEvent(): Promise<void> }).dispatchOnLoadEvent()
}

/**
 * Guard of the fast find: the entities created are the rows handed over, in the chunk's fork
 * (`wrapped.__em`). A MikroORM that changed under a run throws here rather than yield other entities.
 */
export function assertCreatedFrom(fork: EntityManager, rows: readonly object[], entities: readonly object[]): void {
  const last = entities.at(-1) as { __helper?: { __em?: unknown } } | undefined
  if (entities.length === rows.length && (last === undefined || last.__helper?.__em === fork)) return
  throw new UnsupportedMikroOrmError(
    `@batchyield/mikro-orm: MikroORM ${Utils.getORMVersion()} created ${entities.length} entities from ${rows.length} rows outside the chunk's EntityManager (checked at first use; set BATCHYIELD_MIKRO_PATHS=public to take MikroORM's public API). Supported and tested: ${TESTED_LINES}`,
  )
}

// ---------------------------------------------------------------------------------------------
// Session context (row-level security)

/**
 * The session context em.find applies to a read's transaction (`em.getTransactionSessionContext()`,
 * `@internal`, MikroORM 7.2). Releases without the method have no session context to apply.
 */
export function transactionSessionContext(em: EntityManager): object | undefined {
  const get = (em as unknown as { getTransactionSessionContext?: () => object | undefined })
    .getTransactionSessionContext
  return typeof get === 'function' ? get.call(em) : undefined
}

/**
 * Applies `sessionContext` to the cursor's own transaction as `em.begin()` does (the connection's
 * private `applySessionContext`). Without it the cursor would read outside the row-level security
 * em.find reads under, so it throws.
 */
export async function applySessionContext(connection: object, ctx: unknown, sessionContext: object): Promise<void> {
  const apply = (connection as { applySessionContext?: (ctx: unknown, context: object) => Promise<void> })
    .applySessionContext
  if (typeof apply !== 'function')
    throw missing("connection.applySessionContext() (how a transaction takes the EntityManager's session context)")
  await apply.call(connection, ctx, sessionContext)
}

// ---------------------------------------------------------------------------------------------
// Query builder

/** MikroORM's `Utils.getObjectQueryKeys` (`@internal`; not in 6.x): an order or filter object's enumerable keys, raw-fragment symbols included. */
export function objectQueryKeys(value: object): (string | symbol)[] {
  const own = (Utils as unknown as { getObjectQueryKeys?: (value: object) => (string | symbol)[] }).getObjectQueryKeys
  if (typeof own === 'function') return own.call(Utils, value)
  const isRaw = (RawQueryFragment as unknown as { isKnownFragmentSymbol?: (key: symbol) => boolean })
    .isKnownFragmentSymbol
  return Reflect.ownKeys(value).filter(
    (key) =>
      Object.prototype.propertyIsEnumerable.call(value, key) &&
      (typeof key === 'string' || typeof isRaw !== 'function' || isRaw.call(RawQueryFragment, key)),
  )
}

/**
 * Whether an order or filter object's key is a `raw()` fragment: a symbol from MikroORM 7; MikroORM 6 keys
 * it by its string form (`[raw]: … (#n)`), which its public `RawQueryFragment.isKnownFragment` knows.
 */
export function isRawKey(key: string | symbol): boolean {
  if (typeof key === 'symbol') return true
  const isKnown = (RawQueryFragment as unknown as { isKnownFragment?: (key: string) => boolean }).isKnownFragment
  return typeof isKnown === 'function' && isKnown.call(RawQueryFragment, key)
}

/**
 * The user's filter, handed out for one statement per call. MikroORM 6 keys a `raw()` condition by a
 * string registered in `RawQueryFragment`'s cache, which the first query reading it removes: a later
 * chunk's query would take the key for a property name. There each call copies the filter with a new
 * fragment per raw key (the user's own registration is consumed here, once, as one `em.find` would).
 * From 7.0 the keys are symbols, readable by every statement: the filter is handed out as it is.
 */
export function reusableFilter(where: unknown): () => unknown {
  const fragments = new Map<string, RawFragment>()
  collectRawKeys(where, fragments)
  if (fragments.size === 0) return () => where
  const get = (RawQueryFragment as unknown as { getKnownFragment?: (key: string) => unknown }).getKnownFragment
  if (typeof get !== 'function') throw missing('RawQueryFragment.getKnownFragment() (how a raw() condition is read)')
  for (const key of fragments.keys()) get.call(RawQueryFragment, key)
  return () => withFreshRawKeys(where, fragments)
}

/** What a MikroORM 6 raw fragment is made of (`RawQueryFragment`'s public fields). */
interface RawFragment {
  readonly sql: string
  readonly params: unknown[]
}

/** The fragments behind the string raw keys (MikroORM 6) of a filter, in plain objects and arrays at any depth. */
function collectRawKeys(value: unknown, into: Map<string, RawFragment>): void {
  if (Array.isArray(value)) for (const item of value) collectRawKeys(item, into)
  if (!isPlainObject(value)) return
  const get = (RawQueryFragment as unknown as { getKnownFragment?: (key: string, cleanup: boolean) => unknown })
    .getKnownFragment
  for (const [key, item] of Object.entries(value)) {
    if (isRawKey(key) && typeof get === 'function') {
      const fragment = get.call(RawQueryFragment, key, false) as RawFragment | undefined
      if (fragment !== undefined) into.set(key, fragment)
    }
    collectRawKeys(item, into)
  }
}

/** A copy of a filter with each raw key of `fragments` registered afresh (a new key, read by one statement). */
function withFreshRawKeys(value: unknown, fragments: ReadonlyMap<string, RawFragment>): unknown {
  if (Array.isArray(value)) return value.map((item) => withFreshRawKeys(item, fragments))
  if (!isPlainObject(value)) return value
  const Fragment = RawQueryFragment as unknown as new (sql: string, params: unknown[]) => object
  const copy: Record<string, unknown> = {}
  for (const [key, item] of Object.entries(value)) {
    const fragment = fragments.get(key)
    // String() registers the new fragment in MikroORM 6's cache and returns its key
    copy[fragment === undefined ? key : String(new Fragment(fragment.sql, fragment.params))] = withFreshRawKeys(
      item,
      fragments,
    )
  }
  return copy
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false
  const proto = Object.getPrototypeOf(value) as unknown
  return proto === Object.prototype || proto === null
}

/** The raw SQL fragment behind a `raw()` value or key, or undefined (`RawQueryFragment.getKnownFragment`, `@internal`). */
export function knownRawFragment(value: unknown): { readonly sql: string; readonly params: unknown } | undefined {
  const get = (
    RawQueryFragment as unknown as {
      getKnownFragment?: (value: unknown) => { sql: string; params: unknown } | undefined
    }
  ).getKnownFragment
  if (typeof get !== 'function') throw missing('RawQueryFragment.getKnownFragment() (how a raw() condition is read)')
  return get.call(RawQueryFragment, value) ?? undefined
}

/** What the adapter reads of a query builder's state. */
export interface QueryBuilderState {
  /** Order entries as `orderBy()` stores them (`{ 'b.publishedAt': 'desc' }`). */
  readonly orderBy: readonly Record<string | symbol, unknown>[]
  readonly joins: Readonly<
    Record<
      string,
      {
        readonly prop: EntityProperty
        readonly type: string
        readonly path?: string
        readonly alias: string
        readonly cond?: unknown
      }
    >
  >
  readonly cond: unknown
  readonly fields?: readonly unknown[]
  readonly groupBy: readonly unknown[]
  readonly having: object
  readonly ctes: readonly unknown[]
  readonly unionQuery?: unknown
  readonly distinctOn?: readonly unknown[]
  readonly partitionLimit?: unknown
  readonly limit?: number
  readonly offset?: number
  readonly schema?: string
}

/**
 * A query builder's state: its joins, conditions, order, fields, limit (the getter `state`, documented as
 * internal in 7.x). Without it the query builder cannot be read, so `qb.aiterator()` throws.
 */
export function queryBuilderState(qb: object): QueryBuilderState {
  const state = (qb as { state?: QueryBuilderState }).state ?? knexQueryBuilderState(qb)
  if (state === undefined || state === null)
    throw missing('QueryBuilder.state (how the query builder keeps its joins, conditions and order)')
  return state
}

/**
 * MikroORM 6.x's query builder (`@mikro-orm/knex`) keeps the same state in protected fields of its own
 * (`_joins`, `_cond`, `_orderBy`, …; no CTEs, unions or partition limits): read into 7.x's shape, as a
 * snapshot taken at each call. Undefined when those fields are not there.
 */
function knexQueryBuilderState(qb: object): QueryBuilderState | undefined {
  const fields = qb as Partial<
    Record<
      `_${'orderBy' | 'joins' | 'cond' | 'fields' | 'groupBy' | 'having' | 'distinctOn' | 'limit' | 'offset' | 'schema'}`,
      unknown
    >
  >
  if (
    !Array.isArray(fields._orderBy) ||
    !Utils.isPlainObject(fields._joins) ||
    fields._cond === undefined ||
    !Array.isArray(fields._groupBy)
  )
    return undefined
  return {
    orderBy: fields._orderBy as QueryBuilderState['orderBy'],
    joins: fields._joins as QueryBuilderState['joins'],
    cond: fields._cond,
    fields: fields._fields as QueryBuilderState['fields'],
    groupBy: fields._groupBy,
    having: (fields._having ?? {}) as object,
    ctes: [],
    distinctOn: fields._distinctOn as QueryBuilderState['distinctOn'],
    limit: fields._limit as number | undefined,
    offset: fields._offset as number | undefined,
    schema: fields._schema as string | undefined,
  }
}

/**
 * The EntityManager a query builder maps its rows into (the field `em`, protected in 7.x's typings);
 * undefined when it was made without one. A query builder without the field cannot have its chunks
 * loaded into a fork ({@link retargetQueryBuilder}), so that throws, before any query.
 */
export function queryBuilderEntityManager(qb: object): EntityManager | undefined {
  if (!Object.hasOwn(qb, 'em')) throw notRetargetable()
  return (qb as { em?: EntityManager }).em
}

/**
 * Throws unless `qb` keeps its EntityManager and transaction in the fields {@link retargetQueryBuilder}
 * sets. No public way runs a query builder's clone in another EntityManager, and loading into the
 * caller's would grow its identity map with every row.
 */
export function assertRetargetable(qb: object): void {
  if (!Object.hasOwn(qb, 'em') || !Object.hasOwn(qb, 'context')) throw notRetargetable()
}

function notRetargetable(): UnsupportedMikroOrmError {
  return new UnsupportedMikroOrmError(
    `qb.aiterator(): this MikroORM release's (${Utils.getORMVersion()}) QueryBuilder does not keep its EntityManager in the field 'em' (and transaction in 'context'), which @batchyield/mikro-orm needs to load each chunk into a fresh fork; ` +
      `use em.aiterator(Entity, { where, orderBy, populate }) instead. Supported and tested: ${TESTED_LINES}`,
  )
}

/** The transaction a query builder runs in (the field `context`, checked by {@link assertRetargetable}); undefined outside one. */
export function queryBuilderTransaction(qb: object): unknown {
  return (qb as { context?: unknown }).context
}

/** Makes a clone of the caller's query builder load into `fork` and, when given, run in `ctx` (checked by {@link assertRetargetable}). */
export function retargetQueryBuilder(qb: object, fork: EntityManager, ctx: unknown): void {
  const fields = qb as { em: EntityManager; context: unknown }
  fields.em = fork
  if (ctx !== undefined) fields.context = ctx
}

/**
 * The entity a query builder selects (`mainAlias.meta` from 7.0, `mainAlias.metadata` in 6.x; the getter
 * is public); undefined for a raw table or a subquery.
 */
export function queryBuilderMeta(qb: { readonly mainAlias: object }): EntityMetadata | undefined {
  const alias = qb.mainAlias as { meta?: EntityMetadata; metadata?: EntityMetadata }
  return 'meta' in alias ? alias.meta : alias.metadata
}

/**
 * `qb.toQuery()` in the form `em.execute()` and the driver take: SQL with `?` placeholders and its
 * parameters. MikroORM 6.x's `sql` is Knex's native form (`$1` on PostgreSQL), which MikroORM 6.x's
 * execute does not bind; its `_sql` (Knex's `toSQL()`) keeps the `?` form.
 */
export function placeholderQuery(qb: { toQuery(): { sql: string; params: readonly unknown[] } }): {
  sql: string
  params: readonly unknown[]
} {
  const query = qb.toQuery() as {
    sql: string
    params: readonly unknown[]
    _sql?: { sql?: unknown; bindings?: readonly unknown[] }
  }
  if (typeof query._sql?.sql === 'string') return { sql: query._sql.sql, params: query._sql.bindings ?? [] }
  return { sql: query.sql, params: query.params }
}

/**
 * `qb.clone(reset)` without the named parts of its state (`'limit'`, `'offset'`, `'orderBy'`): 7.x names
 * them so; MikroORM 6.x's clone takes the names of its fields (`'_limit'`, …), and ignores other names.
 */
export function cloneWithout<QB>(
  qb: { clone(reset?: readonly string[]): QB },
  parts: readonly ('limit' | 'offset' | 'orderBy')[],
): QB {
  const knexFields = (qb as { state?: unknown }).state === undefined && knexQueryBuilderState(qb) !== undefined
  return qb.clone(knexFields ? parts.map((part) => `_${part}`) : parts)
}

// ---------------------------------------------------------------------------------------------
// SQL driver

/** What the plain-read cursor needs from a SQL driver: `createQueryBuilderFromOptions` (private in 7.x) and `mapResult`. */
export interface PlainCursorDriver {
  createQueryBuilderFromOptions(
    meta: EntityMetadata,
    where: object,
    options: Record<string, unknown>,
  ): Promise<{
    toQuery(): { sql: string; params: readonly unknown[] }
    readonly state?: { readonly populate?: unknown }
  }>
  mapResult(row: Record<string, unknown>, meta: EntityMetadata, populate: unknown[], qb: unknown, map: object): object
}

/**
 * The driver as the plain-read cursor uses it, with the query builder's populate (internal: em.find's
 * plus the joins MikroORM adds itself); undefined when the fast find is not taken or either is missing:
 * then the cursor reads keys and loads each chunk with em.find.
 */
export async function plainCursorQuery(
  em: EntityManager,
  meta: EntityMetadata,
  where: object,
  options: Record<string, unknown>,
): Promise<
  { query: { sql: string; params: readonly unknown[] }; mapRow(row: Record<string, unknown>): object } | undefined
> {
  if (pathsOf(em).find !== 'fast') return undefined
  const driver = em.getDriver() as unknown as Partial<PlainCursorDriver>
  if (typeof driver.createQueryBuilderFromOptions !== 'function' || typeof driver.mapResult !== 'function')
    return undefined
  const qb = await driver.createQueryBuilderFromOptions(meta, where, { em, ...options })
  const populate = qb.state?.populate
  if (!Array.isArray(populate)) return undefined
  const mapResult = driver.mapResult.bind(driver)
  return { query: qb.toQuery(), mapRow: (row) => mapResult(row, meta, populate, qb, {}) }
}

// ---------------------------------------------------------------------------------------------
// Connection, Kysely and node-postgres

/** The parts of MikroORM's SQL connection consulted here (`@mikro-orm/sql`'s AbstractSqlConnection, 7.x). */
interface SqlConnection {
  readonly options?: { onCreateConnection?: unknown; onReserveConnection?: unknown; driverOptions?: unknown }
  getNativeClient?(): Promise<unknown>
  getClient?(): unknown
}

/** The driver's connection of `type`, as the cursor and the callback context use it. */
function connectionOf(em: EntityManager, type: 'read' | 'write'): SqlConnection {
  return em.getDriver().getConnection(type) as unknown as SqlConnection
}

/** `onCreateConnection` / `onReserveConnection` hooks on the connection (its options; internal): then MikroORM must acquire connections itself. */
export function connectionHooks(em: EntityManager): boolean {
  const options = connectionOf(em, 'write').options
  return options?.onCreateConnection !== undefined || options?.onReserveConnection !== undefined
}

/**
 * Whether a pg client MikroORM has handed out survives its session being ended from outside: from 7.1
 * MikroORM puts an `'error'` listener on each client of its pool; 7.0 does not, and a checked-out client
 * whose backend is terminated then raises an `'error'` event nothing listens to (an uncaught exception).
 */
export function pgClientsSurviveTermination(): boolean {
  const [major = 0, minor = 0] = Utils.getORMVersion().split('.').map(Number)
  return major > 7 || (major === 7 && minor >= 1)
}

/** What the adapter uses of a node-postgres pool made for one statement. */
export interface ControlPgPool {
  query(sql: string, params: unknown[]): Promise<unknown>
  end(): Promise<void>
}

/**
 * A node-postgres pool of one, apart from MikroORM's, with the connection's own options and `timeoutMs`
 * to connect and to run: `createKyselyDialect()` (not documented) with its `onPoolCreated`, which MikroORM
 * 7.0 and 7.1 call with the pool they make (they hand out none of their own). Undefined where that is
 * missing (6.x, another driver): the caller goes on without it.
 */
export function controlPgPool(em: EntityManager, type: 'read' | 'write', timeoutMs: number): ControlPgPool | undefined {
  const connection = connectionOf(em, type) as SqlConnection & { createKyselyDialect?(overrides: object): unknown }
  if (typeof connection.createKyselyDialect !== 'function') return undefined
  // a Kysely instance or dialect of the user's may reach another server than MikroORM's own options
  const given = (connection.options?.driverOptions ?? em.config.get('driverOptions')) as unknown
  if (typeof given === 'function' || (typeof given === 'object' && given !== null && !isPlainObject(given)))
    return undefined
  let pool: ControlPgPool | undefined
  try {
    connection.createKyselyDialect({
      max: 1,
      connectionTimeoutMillis: timeoutMs,
      query_timeout: timeoutMs,
      onPoolCreated: (created: ControlPgPool) => (pool = created),
    })
  } catch {
    return undefined
  }
  return typeof pool?.query === 'function' && typeof pool.end === 'function' ? pool : undefined
}

/** node-postgres's pool behind the connection (`getNativeClient()`), or undefined (a Kysely instance or dialect given, another driver). */
export async function nativePgPool(
  em: EntityManager,
  type: 'read' | 'write',
): Promise<{ connect(): Promise<unknown>; _clients?: unknown } | undefined> {
  const connection = connectionOf(em, type)
  if (typeof connection.getNativeClient !== 'function') return undefined
  const pool = (await connection.getNativeClient().catch(() => undefined)) as
    { connect?: unknown; _clients?: unknown } | undefined
  return typeof pool?.connect === 'function' ? (pool as { connect(): Promise<unknown>; _clients?: unknown }) : undefined
}

/** The clients of a pg pool (pg-pool's `_clients`, undocumented), to find the one a connection runs on; undefined without it. */
export function pgPoolClients<Client>(pool: { _clients?: unknown }): Client[] | undefined {
  return Array.isArray(pool._clients) ? (pool._clients as Client[]) : undefined
}

/** The server process id of a pg client (`processID`, undocumented). */
export function pgProcessId(client: object): unknown {
  return (client as { processID?: unknown }).processID
}

/** The socket of a pg client (`client.connection.stream`, undocumented), to destroy it or read it in turns. */
export function pgSocket(client: object): { destroy?(): void } | undefined {
  return (client as { connection?: { stream?: { destroy?(): void } } }).connection?.stream
}

/** The Kysely instance behind MikroORM's connection (`getClient()`, 7.x), from which the cursor holds a connection. */
export function kyselyOf<Kysely>(em: EntityManager, type: 'read' | 'write'): Kysely {
  const connection = connectionOf(em, type)
  const client =
    typeof connection.getClient === 'function'
      ? (connection.getClient() as { connection?: unknown } | undefined)
      : undefined
  if (typeof client?.connection !== 'function')
    throw missing('connection.getClient() returning Kysely (how the cursor holds one connection)')
  return client as Kysely
}

/** What the cursor uses of Knex's client (MikroORM 6.x's SQL layer): its connection pool. */
export interface KnexClient {
  acquireConnection(): Promise<object>
  releaseConnection(connection: object): Promise<unknown>
}

/**
 * Knex's client behind MikroORM 6.x's connection (`getKnex().client`; `getKnex()` is public in 6.x, the
 * client's pool methods are Knex's internals), from which the cursor holds one connection; undefined
 * on 7.x (Kysely, see {@link kyselyOf}).
 */
export function knexClientOf(em: EntityManager, type: 'read' | 'write'): KnexClient | undefined {
  const connection = connectionOf(em, type) as SqlConnection & { getKnex?(): { client?: Partial<KnexClient> } }
  const client = typeof connection.getKnex === 'function' ? connection.getKnex().client : undefined
  return typeof client?.acquireConnection === 'function' && typeof client.releaseConnection === 'function'
    ? (client as KnexClient)
    : undefined
}

/**
 * A transaction context (what MikroORM 6.x passes to Knex's `transacting()`) whose statements all run on
 * `connection`, held by the caller: Knex's own transaction client, as `knex.transaction()` makes it
 * (`transacting: true`, the connection handed out and never released), without the `BEGIN` Knex's
 * transaction sends, since the cursor session sends its own.
 */
export function knexHeldContext(client: KnexClient, connection: object): unknown {
  const held = Object.create(client) as KnexClient & { transacting: boolean }
  held.transacting = true
  held.acquireConnection = async () => connection
  held.releaseConnection = async () => undefined
  return { client: held }
}

/**
 * The connection a MikroORM 6.x transaction context (a Knex transaction) runs on: its client hands out
 * that one connection (`trx.client.acquireConnection()`). Undefined on 7.x or for another context.
 */
export async function knexTransactionConnection(ctx: unknown): Promise<object | undefined> {
  const client = (ctx as { client?: { transacting?: unknown; acquireConnection?: () => Promise<object> } } | undefined)
    ?.client
  if (client?.transacting !== true || typeof client.acquireConnection !== 'function') return undefined
  return client.acquireConnection()
}

/**
 * em.find's populate step for a plain read (`EntityLoader.setSerializationContext`): sets the entity's
 * serialization context (`wrapped.setSerializationContext`, internal; checked with the find steps).
 */
export function setSerializationContext(
  entity: object,
  context: { populate: unknown; fields: unknown; exclude: unknown },
): void {
  ;(helper(entity) as unknown as { setSerializationContext(context: object): void }).setSerializationContext(context)
}
