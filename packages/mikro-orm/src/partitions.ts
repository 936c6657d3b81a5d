import {
  assertOneOf,
  assertOptionsObject,
  assertPositiveInteger,
  describePartitions,
  describeValue,
  KeysetOrderingError,
  type KeyShape,
  type PartitionDescriptor,
  type PartitionQuery,
  partitionSampleSize,
  samplePercent,
  splitPoints,
  StrategyUnavailableError,
} from '@batchyield/batch-core'
import {
  type EntityManager,
  type EntityMetadata,
  type EntityName,
  type EntityProperty,
  type FilterQuery,
  helper,
  raw,
  Reference,
  Utils,
} from '@mikro-orm/core'
import type { QueryBuilder } from '@mikro-orm/sql'
import { cloneWithout, knownRawFragment, placeholderQuery, queryBuilderState } from './internals.js'
import { keyDialect } from './key-columns.js'
import { type KeysetOrdering, resolveOrdering } from './keyset-ordering.js'
import { type AnyQueryBuilder, queryBuilderPlan } from './query-builder.js'

/** The SQL EntityManager's methods used here (`@mikro-orm/sql`'s SqlEntityManager, typed structurally: `em` is typed as core's). */
interface SqlEntityManager {
  createQueryBuilder(entityName: EntityName<object>, alias: string): QueryBuilder<object>
  execute<T>(sql: string, params: unknown[]): Promise<T>
}
const sql = (em: EntityManager) => em as unknown as SqlEntityManager

/**
 * How `partitions()` finds where to cut; it only decides how even the partitions are, never which
 * rows they hold:
 * - `'sample'` (PostgreSQL; the default there): the key columns of a page sample of the table
 *   (`TABLESAMPLE SYSTEM`, sized from the planner's row estimate of the query and the table's size
 *   to about 100 rows and 100 pages per partition, at least 1,000), with the query's own
 *   conditions, in its order;
 * - `'statistics'` (PostgreSQL): the planner's histogram of the leading sort key
 *   (`pg_stats.histogram_bounds`, as of the last `ANALYZE`); reads no row at all, but cuts only on
 *   that key's values and knows nothing of the query's conditions; `'sample'` when the key has no
 *   histogram (never analyzed, or few distinct values);
 * - `'scan'` (every database; the default on MariaDB and MySQL): every key of the query, read once
 *   in its order (an index-only scan where an index covers the keys), of which the database returns
 *   every k-th (`NTILE`); the cost of reading the keys once, exact balance.
 * - `'auto'` (default): `'sample'` on PostgreSQL, else `'scan'`.
 */
export type PartitionMethod = 'auto' | 'sample' | 'statistics' | 'scan'

/** The methods `method` accepts, in the order error messages list them. */
export const PARTITION_METHODS = ['auto', 'sample', 'statistics', 'scan'] as const satisfies readonly PartitionMethod[]

/**
 * Options of `partitions(em, Entity, count, options)`: the query, as `em.aiterator` takes it (only
 * what decides which rows come and in what order), and how to cut.
 *
 * @example
 * ```ts
 * const parts = await partitions(em, Book, 8, { where: { rating: { $gte: 4 } }, orderBy: { publishedAt: 'desc' } })
 * ```
 */
export interface PartitionOptions<Entity> {
  /** The `em.find` condition, as given to `em.aiterator`. */
  readonly where?: FilterQuery<Entity>
  /** The ordering, as given to `em.aiterator` (the primary key is appended). */
  readonly orderBy?: unknown
  /** `em.find`'s `filters`, as given to `em.aiterator`. */
  readonly filters?: unknown
  /** `em.find`'s `schema`, as given to `em.aiterator`. */
  readonly schema?: string
  /** Default `'auto'`. See {@link PartitionMethod}. */
  readonly method?: PartitionMethod
}

/** Options of `partitionsQueryBuilder(qb, count, options)` (the query is the query builder's). */
export interface QueryBuilderPartitionOptions {
  /** Default `'auto'`. See {@link PartitionMethod}. */
  readonly method?: PartitionMethod
}

/**
 * Splits the rows `em.aiterator(Entity, options)` would yield into at most `count` contiguous
 * ranges of its keyset ordering (the ordering, then the primary key), of about equal row counts, and
 * returns one plain JSON descriptor per range. Another process passes a descriptor as the
 * `partition` option of `em.aiterator` with the same `where`, `orderBy`, `filters` and `schema`, and
 * iterates exactly that range. Between them the descriptors hold every row exactly once, NULL sort
 * keys and rows at the cuts included: the cuts are positions in the ordering, and the statistics or
 * samples they come from only decide how even the ranges are. Fewer than `count` come back when
 * there are fewer rows to cut between.
 *
 * A descriptor is tied to the entity, the ordering and the conditions (`where`, `filters`, `schema`,
 * with their values); one made for another query is refused with an `InvalidPartitionError` at the
 * `aiterator` call.
 *
 * @example
 * ```ts
 * import { partitions } from '@batchyield/mikro-orm'
 *
 * const query = { where: { kind: 'purchase' }, orderBy: { occurredAt: 'asc' } } as const
 * const parts = await partitions(em, Event, 8, query)             // PartitionDescriptor[]: plain JSON
 * // in each worker:
 * for await (const events of em.aiterator(Event, { ...query, batchYieldSize: 500, partition: parts[3] })) await handle(events)
 * ```
 */
export async function partitions<Entity extends object>(
  em: EntityManager,
  entityName: EntityName<Entity>,
  count: number,
  options: PartitionOptions<NoInfer<Entity>> = {},
): Promise<PartitionDescriptor[]> {
  if (em === null || typeof em !== 'object' || typeof (em as EntityManager).getMetadata !== 'function') {
    throw new TypeError(`partitions(): em must be a MikroORM EntityManager; received ${describeValue(em)}`)
  }
  assertPositiveInteger('count', count)
  assertOptionsObject('options', options)
  for (const key of Object.keys(options)) {
    if (!['where', 'orderBy', 'filters', 'schema', 'method'].includes(key)) {
      throw new TypeError(
        `partitions(): unknown option ${describeValue(key)}; accepted options are where, orderBy, filters, schema, method`,
      )
    }
  }
  const method = chooseMethod(em, options.method ?? 'auto')
  const meta = em.getMetadata(entityName as EntityName<object>)
  const ordering = resolveOrdering(meta, em.getPlatform(), options.orderBy, keyDialect(em))
  if (!ordering.supported) {
    throw new KeysetOrderingError(
      `partitions() cuts a query's keyset ordering, and this one over ${meta.className} cannot be followed: ${ordering.reason}. Order by scalar properties of ${meta.className}`,
    )
  }
  const query = entityPartitionQuery(meta, ordering, options)
  if (count === 1) return describePartitions(query, [])
  const sampler: Sampler = {
    em,
    meta,
    ordering,
    alias: 'e0',
    schema: options.schema,
    distinct: false,
    rows: async () => {
      const qb = sql(em).createQueryBuilder(entityName as EntityName<object>, 'e0')
      // em.find also takes a bare primary key value as its condition
      const where =
        options.where === undefined
          ? {}
          : Utils.isPrimaryKey(options.where, meta.compositePK)
            ? { [Utils.getPrimaryKeyHash(meta.primaryKeys)]: options.where }
            : options.where
      qb.where(where as never)
      if (options.schema !== undefined) qb.withSchema(options.schema)
      // em.find's filters (soft deletes, tenants) decide which rows come: the sample reads the same ones
      await qb.applyFilters(options.filters as never)
      return { qb }
    },
  }
  return describePartitions(
    query,
    (await cuts(sampler, method, count)).map((values) => ({ at: values })),
  )
}

/**
 * `partitions()` of what `qb.aiterator()` yields: the query builder's conditions and joins, in its
 * keyset ordering (its `orderBy` on root properties, then the primary key). Its descriptors are
 * passed as the `partition` option of `qb.aiterator()` on the same query (same conditions and
 * parameter values). The query builder must not set `limit`/`offset`.
 *
 * @example
 * ```ts
 * import { partitionsQueryBuilder } from '@batchyield/mikro-orm'
 *
 * const books = () => em.createQueryBuilder(Book, 'b').select('*').where({ rating: { $gte: 4 } }).orderBy({ publishedAt: 'desc' })
 * const parts = await partitionsQueryBuilder(books(), 8)
 * for await (const batch of books().aiterator({ batchYieldSize: 500, partition: parts[0] })) await handle(batch)
 * ```
 */
export async function partitionsQueryBuilder(
  qb: AnyQueryBuilder,
  count: number,
  options: QueryBuilderPartitionOptions = {},
): Promise<PartitionDescriptor[]> {
  assertPositiveInteger('count', count)
  assertOptionsObject('options', options)
  for (const key of Object.keys(options)) {
    if (key !== 'method')
      throw new TypeError(
        `partitionsQueryBuilder(): unknown option ${describeValue(key)}; the accepted option is method`,
      )
  }
  const plan = queryBuilderPlan(qb)
  const method = chooseMethod(plan.em, options.method ?? 'auto')
  if (plan.ordering === undefined) {
    throw new KeysetOrderingError(
      `partitionsQueryBuilder() cuts a query's keyset ordering, and this one over ${plan.meta.className} cannot be followed: ${plan.keysetProblem}. Order by root properties of ${plan.meta.className}`,
    )
  }
  const state = queryBuilderState(plan.qb)
  if (state.limit !== undefined || state.offset !== undefined) {
    throw new TypeError(
      `partitionsQueryBuilder() splits the whole query, and this query builder sets ${state.limit !== undefined ? `limit(${state.limit})` : `offset(${state.offset})`}; remove it (limit each partition's run with the limit option instead)`,
    )
  }
  const ordering = plan.ordering
  const query = queryBuilderPartitionQuery(plan.qb, plan.meta, ordering)
  if (count === 1) return describePartitions(query, [])
  const sampler: Sampler = {
    em: plan.em,
    meta: plan.meta,
    ordering,
    alias: plan.alias,
    schema: state.schema,
    distinct: plan.toMany,
    rows: async () => ({
      qb: cloneWithout(plan.qb, ['limit', 'offset', 'orderBy']) as unknown as QueryBuilder<object>,
    }),
  }
  return describePartitions(
    query,
    (await cuts(sampler, method, count)).map((values) => ({ at: values })),
  )
}

/** What a descriptor for `em.aiterator(Entity, options)` is tied to: the key shape, and `where`, `filters` and `schema` with their values. */
export function entityPartitionQuery(
  meta: EntityMetadata,
  ordering: KeysetOrdering,
  options: { readonly where?: unknown; readonly filters?: unknown; readonly schema?: unknown },
): PartitionQuery {
  return {
    shape: keyShape(meta, ordering),
    conditions: canonicalText({
      where: options.where ?? null,
      filters: options.filters ?? null,
      schema: options.schema ?? null,
    }),
  }
}

/** What a descriptor for `qb.aiterator()` is tied to: the key shape, and the query builder's conditions, inner joins and schema. */
export function queryBuilderPartitionQuery(qb: object, meta: EntityMetadata, ordering: KeysetOrdering): PartitionQuery {
  const state = queryBuilderState(qb)
  // inner joins drop rows; left joins only load more with each row
  const joins = Object.values(state.joins)
    .filter((join) => join.type.includes('inner'))
    .map((join) => [join.type, join.path ?? '', join.alias, join.cond ?? null])
  return {
    shape: keyShape(meta, ordering),
    conditions: canonicalText({ where: state.cond, joins, schema: state.schema ?? null }),
  }
}

/** The shape resume tokens and descriptors of this ordering are tied to (the same for em.aiterator and qb.aiterator). */
export function keyShape(meta: EntityMetadata, ordering: KeysetOrdering): KeyShape {
  return { keys: ordering.keys, fingerprint: `mikro-orm:${meta.className}` }
}

function chooseMethod(em: EntityManager, requested: unknown): 'sample' | 'statistics' | 'scan' {
  assertOneOf('method', requested, PARTITION_METHODS)
  const postgres = em.getDriver().getDependencies().includes('pg')
  if (requested === 'auto') return postgres ? 'sample' : 'scan'
  if (requested !== 'scan' && !postgres) {
    throw new StrategyUnavailableError(
      `partitions() method '${requested}' reads PostgreSQL's ${requested === 'sample' ? 'TABLESAMPLE' : 'pg_stats'}; this EntityManager uses ${em.getPlatform().constructor.name.replace(/Platform$/, '')}. Use method 'scan' (or 'auto')`,
    )
  }
  return requested
}

/** How to sample one query's keys. */
interface Sampler {
  readonly em: EntityManager
  readonly meta: EntityMetadata
  readonly ordering: KeysetOrdering
  /** The root alias of `rows()`. */
  readonly alias: string
  readonly schema: string | undefined
  /** Select distinct keys (to-many joins repeat a root row). */
  readonly distinct: boolean
  /**
   * A fresh query builder of the query's rows (conditions and joins; its select is replaced), in an object:
   * MikroORM 6's query builder is thenable, so a promise of it would run its query.
   */
  rows(): Promise<{ readonly qb: QueryBuilder<object> }>
}

/** The cut points for `count` partitions, as key values in the form resume tokens hold them. */
async function cuts(sampler: Sampler, method: 'sample' | 'statistics' | 'scan', count: number): Promise<unknown[][]> {
  const target = partitionSampleSize(count)
  const samples =
    (method === 'statistics' ? await histogramBounds(sampler) : undefined) ??
    (await sampledKeys(sampler, method === 'scan' ? 'scan' : 'sample', target))
  return splitPoints(samples, count)
}

/** Key tuples of the query in its order, about `target` of them, evenly spread (see TypeORM's partitions.ts, which does the same). */
async function sampledKeys(sampler: Sampler, method: 'sample' | 'scan', target: number): Promise<unknown[][]> {
  if (method === 'scan') return bucketStarts(sampler, target, undefined)
  let percent = samplePercent({ rows: await estimatedRows(sampler), pages: await tablePages(sampler) }, target)
  for (;;) {
    const samples = await bucketStarts(sampler, target, percent)
    if (samples.length >= target / 4 || percent >= 100) return samples
    percent = Math.min(100, percent * 10)
  }
}

/** The prefix of our own aliases in sampling queries. */
const P = 'byp_'

/**
 * The query reduced to its keys: each key's column (to order by) and its value (to cut at: read
 * exactly with batch-core's rule where the hydrated value is not exact, else as stored and hydrated
 * below). With `percent`, the root table is read through `TABLESAMPLE SYSTEM`: MikroORM's query
 * builder cannot write it, so it goes after the FROM of the root table in the SQL the query builder
 * made, which is checked to be there exactly once.
 */
async function keysQuery(sampler: Sampler, percent: number | undefined): Promise<{ sql: string; params: unknown[] }> {
  const { em, meta, ordering, alias } = sampler
  const q = (identifier: string) => em.getPlatform().quoteIdentifier(identifier)
  const { qb } = await sampler.rows()
  const selects = ordering.keys.flatMap((key, i) => {
    const column = `${q(alias)}.${q((meta.properties[key.field] as EntityProperty).fieldNames[0]!)}`
    const rule = ordering.columns[i]!
    return [
      raw(`${column} as ${q(`${P}o${i}`)}`),
      raw(`${rule.hydratedExact ? column : rule.rule.read(column)} as ${q(`${P}k${i}`)}`),
    ]
  })
  qb.select(selects as never, sampler.distinct)
  const { sql: text, params } = placeholderQuery(qb)
  if (percent === undefined) return { sql: text, params: [...params] }
  const driver = em.getDriver() as unknown as {
    getTableName(meta: EntityMetadata, options: { schema?: string }): string
  }
  const from = ` from ${driver.getTableName(meta, sampler.schema === undefined ? {} : { schema: sampler.schema })} as ${q(alias)}`
  const at = text.indexOf(from)
  if (at < 0 || text.indexOf(from, at + 1) >= 0 || text.slice(0, at).includes('?')) {
    throw new Error(
      `@batchyield/mikro-orm: partitions() method 'sample' could not place TABLESAMPLE in ${text}; use method 'scan' and please report the query`,
    )
  }
  const end = at + from.length
  return { sql: `${text.slice(0, end)} tablesample system (?)${text.slice(end)}`, params: [percent, ...params] }
}

/** The first key tuple of each of `target` equal buckets of the keys query's rows, in the ordering (NTILE, then the first row of each bucket). */
async function bucketStarts(sampler: Sampler, target: number, percent: number | undefined): Promise<unknown[][]> {
  const { em, ordering } = sampler
  const q = (identifier: string) => em.getPlatform().quoteIdentifier(identifier)
  const inner = await keysQuery(sampler, percent)
  // NULL placement is written where the database can (PostgreSQL); MariaDB's own placement is the ordering's there
  const nulls = keyDialect(em) === 'postgresql'
  const order = ordering.keys
    .map(
      (key, i) => `${q(`${P}o${i}`)} ${key.direction}${nulls && key.nullable !== false ? ` nulls ${key.nulls}` : ''}`,
    )
    .join(', ')
  const values = ordering.keys.map((_, i) => q(`${P}k${i}`)).join(', ')
  const text =
    `select ${values} from (select ${q(`${P}t`)}.*, row_number() over (partition by ${q(`${P}b`)} order by ${order}) as ${q(`${P}r`)} from ` +
    `(select ${q(`${P}s`)}.*, ntile(?) over (order by ${order}) as ${q(`${P}b`)} from (${inner.sql}) as ${q(`${P}s`)}) as ${q(`${P}t`)}) as ${q(`${P}u`)} ` +
    `where ${q(`${P}r`)} = 1 order by ${q(`${P}b`)}`
  const rows = await sql(em).execute<Record<string, unknown>[]>(text, [target, ...inner.params])
  return rows.map((row) => ordering.keys.map((_, i) => hydrated(sampler, i, row[`${P}k${i}`])))
}

/** A sampled key value in the form a resume token holds it: as hydrated where the hydrated value is exact (so it binds as the keyset source binds it), else as read. */
function hydrated({ em, meta, ordering }: Sampler, index: number, value: unknown): unknown {
  if (value === null || value === undefined || !ordering.columns[index]!.hydratedExact) return value ?? null
  const prop = meta.properties[ordering.keys[index]!.field] as EntityProperty
  const driver = em.getDriver() as unknown as {
    mapResult(result: Record<string, unknown>, meta: EntityMetadata): Record<string, unknown> | null
  }
  const mapped = driver.mapResult({ [prop.fieldNames[0]!]: value }, meta)?.[prop.name] ?? value
  return prop.customType === undefined ? mapped : prop.customType.convertToJSValue(mapped, em.getPlatform())
}

/** The planner's estimate of the query's rows (`EXPLAIN`, which reads statistics, not rows). */
async function estimatedRows(sampler: Sampler): Promise<number> {
  const query = await keysQuery(sampler, undefined)
  const [row] = await sql(sampler.em).execute<Record<string, unknown>[]>(
    `explain (format json) ${query.sql}`,
    query.params,
  )
  const plan = row?.['QUERY PLAN']
  const explained = (typeof plan === 'string' ? JSON.parse(plan) : plan) as
    [{ Plan?: { 'Plan Rows'?: unknown } }] | undefined
  const rows = explained?.[0]?.Plan?.['Plan Rows']
  return typeof rows === 'number' ? rows : Number.NaN
}

/** The root table's size in pages (its file size: no row is read). */
async function tablePages({ em, meta, schema }: Sampler): Promise<number> {
  const driver = em.getDriver() as unknown as {
    getTableName(meta: EntityMetadata, options: { schema?: string }): string
  }
  const table = driver.getTableName(meta, schema === undefined ? {} : { schema })
  const [row] = await sql(em).execute<{ pages: string | number }[]>(
    "select pg_relation_size(to_regclass(?)) / current_setting('block_size')::bigint as pages",
    [table],
  )
  return Number(row?.pages ?? Number.NaN)
}

/**
 * The leading key's histogram bounds from `pg_stats` (as of the last ANALYZE), in the ordering's
 * direction, each as a one-value prefix (text: PostgreSQL reads it back as the column's type, or, for
 * a key bound as hydrated, converted to the property's runtime type); undefined when there is none.
 */
async function histogramBounds(sampler: Sampler): Promise<unknown[][] | undefined> {
  const { em, meta, ordering } = sampler
  const first = ordering.keys[0]!
  const prop = meta.properties[first.field] as EntityProperty
  const text =
    'select b.v from pg_stats s, unnest(s.histogram_bounds::text::text[]) with ordinality as b(v, n) ' +
    'where s.schemaname = coalesce(?, current_schema()) and s.tablename = ? and s.attname = ? and not s.inherited order by b.n'
  const rows = await sql(em).execute<{ v: string }[]>(text, [
    sampler.schema ?? meta.schema ?? null,
    meta.tableName,
    prop.fieldNames[0],
  ])
  if (rows.length === 0) return undefined
  const values = rows.map((row) => [ordering.columns[0]!.hydratedExact ? fromText(prop, row.v) : row.v])
  return first.direction === 'asc' ? values : values.reverse()
}

/** PostgreSQL's text of a value as the property's runtime type (for keys bound as hydrated). */
function fromText(prop: EntityProperty, text: string): unknown {
  switch (prop.runtimeType) {
    case 'number':
      return Number(text)
    case 'bigint':
      return BigInt(text)
    case 'boolean':
      return text === 'true'
    default:
      return text
  }
}

/**
 * A stable text of conditions (`where`, `filters`, a query builder's `cond`), the same in every
 * process for the same query: object keys sorted, raw fragments (symbol keys) by their SQL and
 * parameters, entities and references by class and primary key, Dates as ISO text, bigints as `12n`,
 * bytes as hex.
 */
export function canonicalText(value: unknown): string {
  return JSON.stringify(canonical(value, new Set()))
}

function canonical(value: unknown, seen: Set<object>): unknown {
  if (typeof value === 'bigint') return `${value}n`
  if (value === null || typeof value !== 'object') return value === undefined ? null : value
  if (seen.has(value)) return '[cycle]'
  if (value instanceof Date) return `date:${Number.isNaN(value.getTime()) ? 'invalid' : value.toISOString()}`
  if (value instanceof RegExp) return `regexp:${String(value)}`
  if (value instanceof Uint8Array) return `bytes:${Array.from(value, (b) => b.toString(16).padStart(2, '0')).join('')}`
  const fragment = knownRawFragment(value)
  if (fragment !== undefined) return { raw: fragment.sql, params: canonical(fragment.params, seen) }
  if (Reference.isReference(value)) return canonical((value as Reference<object>).unwrap(), seen)
  if (Utils.isEntity(value))
    return { entity: helper(value).__meta.className, pk: canonical(helper(value).getPrimaryKey(true), seen) }
  seen.add(value)
  try {
    if (Array.isArray(value)) return (value as unknown[]).map((item) => canonical(item, seen))
    const entries: [string, unknown][] = Object.keys(value)
      .sort()
      .map((key) => [key, canonical((value as Record<string, unknown>)[key], seen)])
    for (const symbol of Object.getOwnPropertySymbols(value)) {
      const known = knownRawFragment(symbol)
      const key =
        known === undefined
          ? `symbol:${symbol.description ?? ''}`
          : `raw:${known.sql}:${JSON.stringify(canonical(known.params, seen))}`
      entries.push([key, canonical((value as Record<symbol, unknown>)[symbol], seen)])
    }
    return Object.fromEntries(entries)
  } finally {
    seen.delete(value)
  }
}
