import {
  BATCH_OPTION_NAMES,
  type RangeOptions,
  resolveRangeOptions,
  assertOneOf,
  assertOptionsObject,
  type BatchOptions,
  decodeResumeToken,
  describeValue,
  iterateChunks,
  KeysetOrderingError,
  type KeyShape,
  type OpenChunkSource,
  StrategyUnavailableError,
  validateBatchOptions,
} from '@batchyield/batch-core'
import { type EntityManager, type EntityMetadata, ReferenceKind, Utils } from '@mikro-orm/core'
import { keyDialect } from './key-columns.js'
import { type KeysetOrdering, type OrderEntry, resolveOrdering } from './keyset-ordering.js'
import { keyShape, queryBuilderPartitionQuery } from './partitions.js'
import { ITERATION_STRATEGIES, type IterationStrategy } from './options.js'
import {
  assertRetargetable,
  isRawKey,
  objectQueryKeys,
  queryBuilderEntityManager,
  queryBuilderMeta,
  queryBuilderState,
} from './internals.js'
import {
  openQueryBuilderCursorSource,
  openQueryBuilderKeysetSource,
  type QueryBuilderSpec,
  type SqlQueryBuilder,
} from './query-builder-source.js'

/**
 * Options of `qb.aiterator()`: the engine's {@link BatchOptions} plus how to read. What to read (entity,
 * joins, conditions, order, `limit`/`offset`) is the query builder's.
 *
 * @example
 * ```ts
 * let token: string | undefined
 * const qb = em.createQueryBuilder(Book, 'b').select('*').where({ rating: { $gte: 4 } }).orderBy({ publishedAt: 'desc' })
 * for await (const books of qb.aiterator({ batchYieldSize: 500, onProgress: (p) => (token = p.cursor) })) await index(books)
 * ```
 */
export interface QueryBuilderAiteratorOptions extends BatchOptions, RangeOptions {
  /** `'auto'` (default), `'keyset'` or `'cursor'`; see {@link IterationStrategy}. */
  readonly strategy?: IterationStrategy
  /** Resume token from an earlier run's `onProgress` `cursor`: start right after that entity (keyset only). */
  readonly after?: string
}

const KNOWN_OPTIONS: ReadonlySet<string> = new Set([
  ...BATCH_OPTION_NAMES,
  'strategy',
  'after',
  'from',
  'to',
  'partition',
])

/**
 * A MikroORM query builder, as the function forms take it: `@mikro-orm/sql`'s (MikroORM 7) or
 * `@mikro-orm/knex`'s (MikroORM 6). Spelled by shape, so that the declarations need neither package
 * (a project has one of them); what else the run needs is checked at the call.
 */
export interface AnyQueryBuilder {
  getResultList(...args: any[]): Promise<readonly object[]>
  getFormattedQuery(): string
}

/** The entities `qb.getResultList()` returns, as `aiterator` yields them. */
type ResultOf<QB> = QB extends { getResultList(...args: any[]): Promise<readonly (infer Result)[]> } ? Result : never

/**
 * Streams what `qb.getResultList()` returns (the same entities, in the same order, with the query
 * builder's joined relations, selected fields and conditions) in lists of `batchYieldSize`, reading
 * `chunkSize` rows per round trip, each chunk into a fresh fork of the query builder's EntityManager (its
 * identity map stays empty). The same as `qb.aiterator(…)` without the prototype method.
 *
 * - `keyset` (default where possible): the query builder's own query per chunk, the seek ANDed to its
 *   conditions; needs an `orderBy` on root properties (the primary key is appended), joined columns may
 *   follow the primary key (they order each entity's joined rows).
 * - `cursor` (PostgreSQL; what `'auto'` takes otherwise): a server-side cursor over the matching root
 *   keys in the query builder's order, one snapshot, each chunk loaded by the query builder's query.
 * - `limit()`/`offset()` of the query builder count entities (as `getResultList()` does with to-many joins);
 *   the `limit` option caps the run too (the smaller wins).
 *
 * The query builder is read at the call (later changes do not affect the run); options are checked
 * then, synchronously; the first query runs on the first `next()`.
 *
 * @example
 * ```ts
 * import { aiteratorQueryBuilder } from '@batchyield/mikro-orm'
 *
 * const qb = em.createQueryBuilder(Book, 'b').select('*').leftJoinAndSelect('b.author', 'a').where({ 'a.name': { $like: 'A%' } }).orderBy({ publishedAt: 'desc' })
 * for await (const books of aiteratorQueryBuilder(qb, 500)) await sendToApi(books) // books: Loaded<Book, 'author'>[]
 * ```
 */
export function aiteratorQueryBuilder<QB extends AnyQueryBuilder>(
  qb: QB,
  batchYieldSize: number,
  options?: Omit<QueryBuilderAiteratorOptions, 'batchYieldSize'>,
): AsyncGenerator<ResultOf<QB>[], void, undefined>
export function aiteratorQueryBuilder<QB extends AnyQueryBuilder>(
  qb: QB,
  options: QueryBuilderAiteratorOptions & { readonly batchYieldSize: number },
): AsyncGenerator<ResultOf<QB>[], void, undefined>
export function aiteratorQueryBuilder<QB extends AnyQueryBuilder>(
  qb: QB,
  options?: QueryBuilderAiteratorOptions & { readonly batchYieldSize?: undefined },
): AsyncGenerator<ResultOf<QB>, void, undefined>
export function aiteratorQueryBuilder<QB extends AnyQueryBuilder>(
  qb: QB,
  options?: number | QueryBuilderAiteratorOptions,
  more?: Omit<QueryBuilderAiteratorOptions, 'batchYieldSize'>,
): AsyncGenerator<ResultOf<QB> | ResultOf<QB>[], void, undefined>
export function aiteratorQueryBuilder(
  qb: unknown,
  sizeOrOptions?: number | QueryBuilderAiteratorOptions,
  more?: Omit<QueryBuilderAiteratorOptions, 'batchYieldSize'>,
): AsyncGenerator<unknown, void, undefined> {
  const options = normalizeOptions(sizeOrOptions, more)
  const { strategy = 'auto', after, from, to, partition, ...batchOptions } = options
  const engine = validateBatchOptions(batchOptions)
  assertOneOf('strategy', strategy, ITERATION_STRATEGIES)
  if (after !== undefined && typeof after !== 'string') {
    throw new TypeError(
      `after must be a resume token string (the cursor reported by onProgress); received ${describeValue(after)} (${typeof after})`,
    )
  }
  const read = queryBuilderPlan(qb)
  const limit = minDefined(engine.limit, queryBuilderState(read.qb).limit)
  const range = from === undefined && to === undefined && partition === undefined ? undefined : { from, to, partition }
  const open = plan(
    read,
    strategy,
    after,
    options.onProgress === undefined ? undefined : (options.batchYieldSize ?? 1),
    range,
    engine.chunkTimeoutMs,
  )
  return iterateChunks(open, { ...engine, limit }) as AsyncGenerator<unknown, void, undefined>
}

/** A query builder as the strategies read it: a snapshot of it, its EntityManager, entity, root alias, to-many joins and order. */
export interface QueryBuilderPlan {
  readonly qb: SqlQueryBuilder
  readonly em: EntityManager
  readonly meta: EntityMetadata
  readonly alias: string
  readonly toMany: boolean
  readonly order: SplitOrder
  /** The keyset ordering (root properties, then the primary key), when keyset can follow the order. */
  readonly ordering: KeysetOrdering | undefined
  /** Why keyset cannot follow the order, when it cannot. */
  readonly keysetProblem: string | undefined
}

/** Checks `qb` (TypeError for query builders that cannot be streamed) and reads it once: later changes to it do not matter. */
export function queryBuilderPlan(qb: unknown): QueryBuilderPlan {
  const source = assertQueryBuilder(qb)
  const snapshot = source.clone()
  const em = queryBuilderEntityManager(source)!
  const meta = queryBuilderMeta(snapshot)!
  const alias = snapshot.alias
  const state = queryBuilderState(snapshot)
  const toMany = Object.values(state.joins).some(
    (join) => join.prop.kind === ReferenceKind.ONE_TO_MANY || join.prop.kind === ReferenceKind.MANY_TO_MANY,
  )
  const order = splitOrder(state.orderBy, meta, alias)
  const resolved =
    order.problem === undefined ? resolveOrdering(meta, em.getPlatform(), order.root, keyDialect(em)) : undefined
  const ordering = resolved?.supported === true ? resolved : undefined
  const keysetProblem = order.problem ?? (resolved?.supported === false ? resolved.reason : undefined)
  return { qb: snapshot, em, meta, alias, toMany, order, ordering, keysetProblem }
}

/** Picks the strategy and returns how to open its source; throws what a caller must change. */
function plan(
  read: QueryBuilderPlan,
  strategy: IterationStrategy,
  after: string | undefined,
  progressEvery: number | undefined,
  range: RangeOptions | undefined,
  chunkTimeoutMs: number | undefined,
): OpenChunkSource<object> {
  const { qb, em, meta, alias, toMany, order, ordering, keysetProblem } = read
  const state = queryBuilderState(qb)
  if (range !== undefined && (state.offset ?? 0) > 0) {
    // a range is read as up to two index stretches: an offset would be applied to each
    throw new TypeError(
      `offset(${state.offset}) cannot be combined with from, to or partition: a range starts at a position. Move the start with from instead`,
    )
  }
  if (range !== undefined && strategy === 'cursor') {
    throw new TypeError(
      `from, to and partition (positions in the keyset ordering) work with the keyset strategy only; received strategy: 'cursor'. Use strategy: 'keyset' or 'auto'`,
    )
  }
  const cursorAvailable = em.getDriver().getDependencies().includes('pg')
  const spec = (keyFields: readonly string[]): QueryBuilderSpec => ({
    qb,
    em,
    meta,
    alias,
    toMany,
    offset: state.offset,
    progressEvery,
    chunkTimeoutMs,
    extraFields: missingFields(state.fields, alias, keyFields),
  })

  if (ordering !== undefined && strategy !== 'cursor') {
    const shape: KeyShape = keyShape(meta, ordering)
    const resumeAfter = after === undefined ? undefined : decodeResumeToken(after, shape)
    const within =
      range === undefined
        ? undefined
        : resolveRangeOptions(range, shape, () => queryBuilderPartitionQuery(qb, meta, ordering).conditions)
    const keyFields = [...new Set([...ordering.keys.map((k) => k.field), ...meta.primaryKeys])]
    return () => openQueryBuilderKeysetSource(spec(keyFields), ordering, order.trailing, shape, resumeAfter, within)
  }
  if (
    strategy === 'keyset' ||
    (strategy === 'auto' && (!cursorAvailable || after !== undefined || range !== undefined))
  ) {
    const fallback =
      strategy === 'keyset'
        ? "or use strategy: 'cursor' (PostgreSQL)"
        : after !== undefined
          ? '(a resume token needs keyset; the cursor strategy cannot resume)'
          : range !== undefined
            ? '(from, to and partition need keyset)'
            : `('cursor', the fallback, needs PostgreSQL; this EntityManager uses ${platformName(em)})`
    throw new KeysetOrderingError(
      `Keyset iteration over ${meta.className} (query builder) cannot follow this ordering: ${keysetProblem}. Order by root properties of ${meta.className} (the primary key is appended as the tie-breaker; joined columns may follow it) ${fallback}`,
    )
  }
  if (!cursorAvailable) {
    throw new StrategyUnavailableError(
      `strategy 'cursor' needs PostgreSQL (a server-side cursor: DECLARE … CURSOR / FETCH); this EntityManager uses ${platformName(em)}. Use strategy: 'keyset' (or 'auto') instead`,
    )
  }
  if (after !== undefined) {
    throw new StrategyUnavailableError(
      `after (a resume token) works with the keyset strategy only; received strategy: 'cursor'. Leave out after, or use strategy: 'keyset'`,
    )
  }
  if (toMany && order.rootBeforeJoined === false) {
    throw new KeysetOrderingError(
      `qb.aiterator() over ${meta.className}: the query joins a to-many relation and orders by a joined column before the primary key, so an entity's rows are not adjacent and no strategy can keep entities whole. Order by root properties of ${meta.className} first (and the primary key), then by joined columns`,
    )
  }
  // the cursor's order: the query builder's, then the primary key (MikroORM appends nothing itself)
  const orderBy: OrderEntry[] = [...state.orderBy]
  const ordered = new Set(order.root.flatMap((entry) => Object.keys(entry)))
  const tie = lastDirection(state.orderBy)
  for (const pk of meta.primaryKeys) if (!ordered.has(pk)) orderBy.push({ [`${alias}.${pk}`]: tie })
  return () => openQueryBuilderCursorSource(spec(meta.primaryKeys), orderBy)
}

export interface SplitOrder {
  /** The leading terms on root properties, as em.find entries (`{ publishedAt: 'desc' }`). */
  readonly root: OrderEntry[]
  /** The terms after the primary key is complete, as the query builder holds them (they order joined rows). */
  readonly trailing: OrderEntry[]
  /** Why keyset cannot follow the order, if it cannot. */
  readonly problem: string | undefined
  /** False when a joined or raw term comes before the primary key is complete. */
  readonly rootBeforeJoined: boolean
}

/**
 * Splits the query builder's order (entries like `{ 'b.publishedAt': 'desc', 'a.name': 'asc' }`, as
 * MikroORM stores them after `orderBy()`) into the root-property terms up to the complete primary key and
 * what follows.
 */
function splitOrder(entries: readonly OrderEntry[], meta: EntityMetadata, alias: string): SplitOrder {
  const root: OrderEntry[] = []
  const trailing: OrderEntry[] = []
  const pks = new Set(meta.primaryKeys)
  let problem: string | undefined
  for (const entry of entries) {
    for (const key of objectQueryKeys(entry)) {
      const value = entry[key]
      if (pks.size === 0) {
        trailing.push({ [key]: value })
        continue
      }
      const property =
        typeof key === 'string' && key.startsWith(`${alias}.`)
          ? key.slice(alias.length + 1)
          : typeof key === 'string' && !key.includes('.')
            ? key
            : undefined
      if (property === undefined || !(property in meta.properties) || Utils.isPlainObject(value)) {
        problem ??= isRawKey(key)
          ? 'it orders by a raw SQL expression'
          : `it orders by ${describeValue(key)}, which is not a root property of ${meta.className}, before the primary key`
        continue
      }
      root.push({ [property]: value })
      pks.delete(property)
    }
  }
  return { root, trailing, problem, rootBeforeJoined: problem === undefined }
}

/** `alias.property` for each key property a partial select leaves out; none when every column is selected. */
function missingFields(fields: readonly unknown[] | undefined, alias: string, keyFields: readonly string[]): string[] {
  if (fields === undefined || fields.some((f) => f === '*' || f === `${alias}.*`)) return []
  const selected = new Set(
    fields
      .filter((f): f is string => typeof f === 'string')
      .map((f) => (f.startsWith(`${alias}.`) ? f.slice(alias.length + 1) : f)),
  )
  return keyFields.filter((field) => !selected.has(field)).map((field) => `${alias}.${field}`)
}

/** The direction of the order's last term ('asc' without one), which the appended primary key follows. */
function lastDirection(entries: readonly OrderEntry[]): string {
  const last = entries.at(-1)
  const key = last === undefined ? undefined : objectQueryKeys(last).at(-1)
  const value = key === undefined ? undefined : last![key]
  return (typeof value === 'string' && value.trim().toLowerCase().startsWith('desc')) || value === -1 ? 'desc' : 'asc'
}

function assertQueryBuilder(qb: unknown): SqlQueryBuilder {
  const candidate = qb as Partial<SqlQueryBuilder> | null
  if (
    candidate === null ||
    typeof candidate !== 'object' ||
    typeof candidate.clone !== 'function' ||
    typeof candidate.getResultList !== 'function' ||
    typeof (candidate as { getFormattedQuery?: unknown }).getFormattedQuery !== 'function'
  ) {
    throw new TypeError(
      `aiteratorQueryBuilder(): the first argument must be a MikroORM QueryBuilder (em.createQueryBuilder(Entity, alias)); received ${describeValue(qb)}`,
    )
  }
  const builder = candidate as SqlQueryBuilder
  if (queryBuilderEntityManager(builder) === undefined) {
    throw new TypeError(
      'qb.aiterator(): this query builder has no EntityManager to load entities into; make it with em.createQueryBuilder(Entity, alias)',
    )
  }
  assertRetargetable(builder)
  // Read first: a MikroORM without it (6.x) gets the UnsupportedMikroOrmError naming it, not a TypeError below.
  const state = queryBuilderState(builder)
  // MikroORM 6 leaves the type unset until select() or another verb, and runs such a query builder as a select
  const type = builder.type ?? 'SELECT'
  if (type !== 'SELECT')
    throw new TypeError(
      `qb.aiterator() streams the entities of a select query; this query builder is ${describeValue(type)}`,
    )
  if (queryBuilderMeta(builder) === undefined)
    throw new TypeError(
      'qb.aiterator() streams entities; this query builder selects from a raw table or a subquery (use its getResultList() or execute())',
    )
  const unsupported =
    state.groupBy.length > 0
      ? 'groupBy()'
      : Utils.hasObjectKeys(state.having)
        ? 'having()'
        : state.ctes.length > 0
          ? 'with() (a CTE)'
          : state.unionQuery !== undefined
            ? 'union()'
            : (state.distinctOn?.length ?? 0) > 0
              ? 'distinctOn()'
              : state.partitionLimit !== undefined
                ? 'a partition limit'
                : undefined
  if (unsupported !== undefined) {
    throw new TypeError(
      `qb.aiterator() streams entity queries (select, joins, where, orderBy, limit/offset); this query builder uses ${unsupported}, whose rows are not one per entity. Run it with getResultList(), or stream the entities with em.aiterator`,
    )
  }
  return builder
}

function normalizeOptions(sizeOrOptions: unknown, more: unknown): QueryBuilderAiteratorOptions {
  if (typeof sizeOrOptions === 'number') {
    if (more !== undefined) {
      assertOptionsObject('options', more)
      if ('batchYieldSize' in more)
        throw new TypeError(
          'qb.aiterator(size, options): give batchYieldSize once, either as the first argument or in options',
        )
    }
    return checkKnown({ ...(more as object | undefined), batchYieldSize: sizeOrOptions })
  }
  if (more !== undefined) {
    throw new TypeError(
      `qb.aiterator(): a second options argument is only accepted after a numeric batchYieldSize; received ${describeValue(sizeOrOptions)} first`,
    )
  }
  if (sizeOrOptions === undefined) return {}
  if (typeof sizeOrOptions !== 'object' || sizeOrOptions === null || Array.isArray(sizeOrOptions)) {
    throw new TypeError(
      `qb.aiterator() takes a batchYieldSize (positive integer) or an options object; received ${describeValue(sizeOrOptions)} (${sizeOrOptions === null ? 'null' : typeof sizeOrOptions})`,
    )
  }
  return checkKnown(sizeOrOptions as QueryBuilderAiteratorOptions)
}

function checkKnown(options: QueryBuilderAiteratorOptions): QueryBuilderAiteratorOptions {
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) {
      const hint = ['where', 'orderBy', 'populate', 'fields', 'offset'].includes(key)
        ? `; ${key} comes from the query builder itself`
        : ''
      throw new TypeError(
        `qb.aiterator(): unknown option ${describeValue(key)}${hint}. Accepted options: ${[...KNOWN_OPTIONS].join(', ')}`,
      )
    }
  }
  return options
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b
  if (b === undefined) return a
  return Math.min(a, b)
}

function platformName(em: EntityManager): string {
  return em.getPlatform().constructor.name.replace(/Platform$/, '')
}
