import {
  assertOneOf,
  assertOptionsObject,
  assertPositiveInteger,
  describePartitions,
  describeValue,
  KeysetOrderingError,
  type PartitionDescriptor,
  partitionSampleSize,
  samplePercent,
  splitPoints,
  StrategyUnavailableError,
} from '@batchyield/batch-core'
import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm'
import { dataSourceOf, queryRunnerOf, readRootFrom } from './internals.js'
import { cloneQuery } from './query-clone.js'
import { partitionQueryOf } from './partition-query.js'
import { type KeyColumn, type KeysetOrdering, planQuery, type QueryPlan, readSql } from './query-plan.js'

/**
 * How {@link partitions} finds where to cut; it only decides how even the partitions are, never
 * which rows they hold:
 * - `'sample'` (PostgreSQL; the default there): the key columns of a page sample of the table
 *   (`TABLESAMPLE SYSTEM`, sized from the planner's row estimate of the query and the table's size
 *   to about 100 rows and 100 pages per partition, at least 1,000), with the query's own
 *   conditions, in its order;
 * - `'statistics'` (PostgreSQL): the planner's histogram of the leading sort key
 *   (`pg_stats.histogram_bounds`, as of the last `ANALYZE`); reads no row at all, but cuts only on
 *   that key's values and knows nothing of the query's conditions; `'sample'` when the key has no
 *   histogram (never analyzed, or few distinct values);
 * - `'scan'` (every database; the default on MariaDB, MySQL and SQLite): every key of the query,
 *   read once in its order (an index-only scan where an index covers the keys), of which the
 *   database returns every k-th (`NTILE`); the cost of reading the keys once, exact balance.
 * - `'auto'` (default): `'sample'` on PostgreSQL, else `'scan'`.
 */
export type PartitionMethod = 'auto' | 'sample' | 'statistics' | 'scan'

/** The methods `method` accepts, in the order error messages list them. */
export const PARTITION_METHODS = ['auto', 'sample', 'statistics', 'scan'] as const satisfies readonly PartitionMethod[]

/**
 * Options of {@link partitions}.
 *
 * @example
 * ```ts
 * const parts = await partitions(qb, 16, { method: 'statistics' })
 * ```
 */
export interface PartitionOptions {
  /** Default `'auto'`. See {@link PartitionMethod}. */
  readonly method?: PartitionMethod
}

/**
 * Splits the rows of a TypeORM select query into at most `count` contiguous ranges of its keyset
 * ordering (the query's ORDER BY on root columns, then the primary key), of about equal row counts,
 * and returns one plain JSON descriptor per range. Another process builds the same query and
 * passes a descriptor as the `partition` option of `aiterator`, which then iterates exactly that
 * range. Between them the descriptors hold every row of the query exactly once, NULL sort keys and
 * rows at the cuts included: the cuts are positions in the ordering, and the statistics or samples
 * they come from only decide how even the ranges are. Fewer than `count` come back when the query
 * has fewer rows to cut between.
 *
 * A descriptor is tied to the query's table, ordering, conditions and parameter values; one made
 * for another query is refused with an `InvalidPartitionError` at the `aiterator` call. The query
 * must be one keyset can follow, without `take()`/`skip()`.
 *
 * @example
 * ```ts
 * import { aiterator, partitions } from '@batchyield/typeorm'
 *
 * const events = () => dataSource.getRepository(Event).createQueryBuilder('e').where('e.kind = :kind', { kind: 'purchase' })
 * const parts = await partitions(events(), 8)               // PartitionDescriptor[]: plain JSON
 * // in each worker, with the same query:
 * for await (const batch of aiterator(events(), { batchYieldSize: 500, partition: parts[3] })) await handle(batch)
 * ```
 */
export async function partitions<E extends ObjectLiteral>(
  qb: SelectQueryBuilder<E>,
  count: number,
  options: PartitionOptions = {},
): Promise<PartitionDescriptor[]> {
  if (
    typeof qb !== 'object' ||
    qb === null ||
    typeof (qb as { getRawAndEntities?: unknown }).getRawAndEntities !== 'function'
  ) {
    throw new TypeError(
      `partitions(): the first argument must be a TypeORM SelectQueryBuilder; received ${describeValue(qb)}`,
    )
  }
  assertPositiveInteger('count', count)
  assertOptionsObject('options', options)
  for (const key of Object.keys(options)) {
    if (key !== 'method')
      throw new TypeError(`partitions(): unknown option ${JSON.stringify(key)}; the accepted option is method`)
  }
  const { method: requested = 'auto' } = options
  assertOneOf('method', requested, PARTITION_METHODS)
  const plan = planQuery(qb)
  const ordering = plan.keyset
  if (ordering === undefined) {
    throw new KeysetOrderingError(
      `partitions() cuts a query's keyset ordering, and this one cannot be followed: ${plan.keysetProblem}. Order by columns of ${plan.entityName} only`,
    )
  }
  if (plan.take !== undefined || plan.skip > 0) {
    throw new TypeError(
      `partitions() splits the whole query, and this one sets ${plan.take !== undefined ? `take(${plan.take})` : `skip(${plan.skip})`}; remove take()/skip() (limit each partition's run with the limit option instead)`,
    )
  }
  const method = chooseMethod(plan, requested)
  const query = partitionQueryOf(plan, ordering)
  if (count === 1) return describePartitions(query, [])
  const target = partitionSampleSize(count)
  const samples =
    (method === 'statistics' ? await histogramBounds(plan, ordering) : undefined) ??
    (await sampledKeys(plan, ordering, method === 'scan' ? 'scan' : 'sample', target))
  return describePartitions(
    query,
    splitPoints(samples, count).map((values) => ({ at: values })),
  )
}

function chooseMethod(plan: QueryPlan<ObjectLiteral>, requested: PartitionMethod): 'sample' | 'statistics' | 'scan' {
  const postgres = plan.dialect.keyDialect === 'postgresql' && plan.dialect.supportsCursor
  if (requested === 'auto') return postgres ? 'sample' : 'scan'
  if (requested !== 'scan' && !postgres) {
    throw new StrategyUnavailableError(
      `partitions() method '${requested}' reads PostgreSQL's ${requested === 'sample' ? 'TABLESAMPLE' : 'pg_stats'}; this data source is ${plan.dialect.name}. Use method 'scan' (or 'auto')`,
    )
  }
  return requested
}

/**
 * Key tuples of the query in its order, about `target` of them, evenly spread over its rows: the
 * query's keys (all its rows for `'scan'`, the rows of a page sample for `'sample'`), numbered into
 * `target` equal buckets by the database (`NTILE`), the first of each bucket returned. A page
 * sample that came back too thin (a low estimate, unlucky pages) is taken again ten times larger.
 */
async function sampledKeys(
  plan: QueryPlan<ObjectLiteral>,
  ordering: KeysetOrdering,
  method: 'sample' | 'scan',
  target: number,
): Promise<unknown[][]> {
  if (method === 'scan') return bucketStarts(plan, ordering, target, undefined)
  let percent = samplePercent({ rows: await estimatedRows(plan, ordering), pages: await tablePages(plan) }, target)
  for (;;) {
    const samples = await bucketStarts(plan, ordering, target, percent)
    if (samples.length >= target / 4 || percent >= 100) return samples
    percent = Math.min(100, percent * 10)
  }
}

/** The prefix of our own aliases and parameters in sampling queries (user parameters never start with it). */
const P = 'byp_'

/** The query reduced to its keys: each key's column (to order by) and its exact value (to cut at), distinct with to-many joins. */
function keysQuery(
  plan: QueryPlan<ObjectLiteral>,
  ordering: KeysetOrdering,
  percent: number | undefined,
): SelectQueryBuilder<ObjectLiteral> {
  const query = cloneQuery(plan.base)
  query.select([])
  ordering.keys.forEach((key, i) => query.addSelect(key.sql, `${P}o${i}`).addSelect(readSql(key), `${P}k${i}`))
  if (plan.toManyJoins) query.distinct(true)
  query.orderBy()
  if (percent !== undefined) {
    // TABLESAMPLE attaches to the table itself: the root alias reads a sampled copy of the table
    const table = plan.metadata.tablePath
      .split('.')
      .map((part) => query.escape(part))
      .join('.')
    readRootFrom(query, plan.alias, `(SELECT * FROM ${table} TABLESAMPLE SYSTEM (:${P}percent))`)
    query.setParameter(`${P}percent`, percent)
  }
  return query
}

/** The first key tuple of each of `target` equal buckets of the keys query's rows, in the ordering. */
async function bucketStarts(
  plan: QueryPlan<ObjectLiteral>,
  ordering: KeysetOrdering,
  target: number,
  percent: number | undefined,
): Promise<unknown[][]> {
  const inner = keysQuery(plan, ordering, percent)
  const [innerSql, innerParameters] = inner.getQueryAndParameters()
  const e = (name: string) => inner.escape(name)
  const order = ordering.keys.map((key, i) => `${e(`${P}o${i}`)} ${orderTerm(plan, key)}`).join(', ')
  const values = ordering.keys.map((_, i) => e(`${P}k${i}`)).join(', ')
  const postgres = plan.dialect.keyDialect === 'postgresql'
  // NTILE's argument comes before the inner query's placeholders in the text: first for `?`, last for `$n`
  const bucketsParameter = postgres ? `$${innerParameters.length + 1}` : '?'
  const parameters = postgres ? [...innerParameters, target] : [target, ...innerParameters]
  const sql =
    `SELECT ${values} FROM (SELECT ${e(`${P}t`)}.*, ROW_NUMBER() OVER (PARTITION BY ${e(`${P}b`)} ORDER BY ${order}) AS ${e(`${P}r`)} FROM ` +
    `(SELECT ${e(`${P}s`)}.*, NTILE(${bucketsParameter}) OVER (ORDER BY ${order}) AS ${e(`${P}b`)} FROM (${innerSql}) ${e(`${P}s`)}) ${e(`${P}t`)}) ${e(`${P}u`)} ` +
    `WHERE ${e(`${P}r`)} = 1 ORDER BY ${e(`${P}b`)}`
  const rows = (await runQuery(inner, sql, parameters)) as Record<string, unknown>[]
  return rows.map((row) => ordering.keys.map((_, i) => row[`${P}k${i}`]))
}

/** `ASC`/`DESC` and, where the database can write it, the NULL placement of one key. */
function orderTerm(plan: QueryPlan<ObjectLiteral>, { key }: KeyColumn): string {
  const direction = key.direction === 'asc' ? 'ASC' : 'DESC'
  return plan.dialect.orderByNulls && key.nullable !== false
    ? `${direction} NULLS ${key.nulls === 'first' ? 'FIRST' : 'LAST'}`
    : direction
}

/** The planner's estimate of the query's rows (`EXPLAIN`, which reads statistics, not rows). */
async function estimatedRows(plan: QueryPlan<ObjectLiteral>, ordering: KeysetOrdering): Promise<number> {
  const query = keysQuery(plan, ordering, undefined)
  const [sql, parameters] = query.getQueryAndParameters()
  const [row] = (await runQuery(query, `EXPLAIN (FORMAT JSON) ${sql}`, parameters)) as Record<string, unknown>[]
  const raw = row?.['QUERY PLAN']
  const explained = (typeof raw === 'string' ? JSON.parse(raw) : raw) as
    [{ Plan?: { 'Plan Rows'?: unknown } }] | undefined
  const rows = explained?.[0]?.Plan?.['Plan Rows']
  return typeof rows === 'number' ? rows : Number.NaN
}

/** The root table's size in pages (its file size: no row is read). */
async function tablePages(plan: QueryPlan<ObjectLiteral>): Promise<number> {
  const table = plan.metadata.tablePath
    .split('.')
    .map((part) => plan.base.escape(part))
    .join('.')
  const [row] = (await runQuery(
    plan.base,
    "SELECT pg_relation_size(to_regclass($1)) / current_setting('block_size')::bigint AS pages",
    [table],
  )) as { pages: string | number }[]
  return Number(row?.pages ?? Number.NaN)
}

/**
 * The leading key's histogram bounds from `pg_stats` (as of the last ANALYZE), in the ordering's
 * direction, each as a one-value prefix: text, which the seek binds untyped so that PostgreSQL reads
 * it back as the column's type, as it does with every key value. Undefined when there is none (never
 * analyzed, or so few distinct values that all are "most common values").
 */
async function histogramBounds(
  plan: QueryPlan<ObjectLiteral>,
  ordering: KeysetOrdering,
): Promise<unknown[][] | undefined> {
  const first = ordering.keys[0]!
  const sql =
    'SELECT b.v FROM pg_stats s, unnest(s.histogram_bounds::text::text[]) WITH ORDINALITY AS b(v, n) ' +
    'WHERE s.schemaname = COALESCE($1, current_schema()) AND s.tablename = $2 AND s.attname = $3 AND NOT s.inherited ORDER BY b.n'
  const rows = (await runQuery(plan.base, sql, [
    plan.metadata.schema ?? null,
    plan.metadata.tableName,
    first.column.databaseName,
  ])) as { v: string }[]
  if (rows.length === 0) return undefined
  const values = rows.map((row) => [row.v])
  return first.key.direction === 'asc' ? values : values.reverse()
}

/** Runs SQL on the query's own query runner (its transaction) when it has one, else on the pool. */
function runQuery(
  query: SelectQueryBuilder<ObjectLiteral>,
  sql: string,
  parameters: readonly unknown[],
): Promise<unknown> {
  return dataSourceOf(query).query(sql, [...parameters], queryRunnerOf(query))
}
