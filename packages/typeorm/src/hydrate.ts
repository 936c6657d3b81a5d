import type { ObjectLiteral, QueryRunner, SelectQueryBuilder } from 'typeorm'
import { loadRawResults } from './callback-query.js'
import { hydrationOf, hydrationSendsStatements, overrideIgnored, rawRowsOf } from './internals.js'
import { cloneQuery } from './query-clone.js'

export { hydrationSendsStatements }

/**
 * Rows hydrated per turn of the event loop: few enough that a slow consumer's timers wait only
 * briefly for a read-ahead's hydration.
 */
export const HYDRATION_SLICE_ROWS = 125

/** Entities hydrated from raw rows. */
export interface Hydrated<E> {
  readonly entities: E[]
  /**
   * Whether hydrating sends statements of its own on the query runner (relation ids, relations
   * loaded by `relationLoadStrategy: 'query'`), which wait for anything queued before them.
   */
  readonly sendsStatements: boolean
}

/**
 * Turns raw rows that `query`'s SQL returned into entities through TypeORM's own path, the one
 * `getMany()` takes: relation ids (extra queries on `queryRunner`), the raw-to-entity
 * transformer (column transformers, embeddeds, joined relations), relations loaded by
 * `relationLoadStrategy: 'query'` and `afterLoad` listeners. Only the SQL round trip is replaced
 * by the rows we already fetched (internals.ts: the fast path, where pathsOf() found it works).
 */
export async function hydrateRows<E extends ObjectLiteral>(
  query: SelectQueryBuilder<E>,
  queryRunner: QueryRunner,
  rows: readonly unknown[],
): Promise<Hydrated<E>> {
  const execution = cloneQuery(query)
  const hydration = hydrationOf(execution, queryRunner, rows)
  const { entities } = await hydration.result
  if (!hydration.handed()) throw overrideIgnored()
  return { entities: entities as E[], sendsStatements: hydrationSendsStatements(execution) }
}

/**
 * Runs `query` as getRawAndEntities() does (its query runner, or one from the pool, released
 * after; its transaction handling) but returns the raw rows only, unhydrated (read as
 * callback-query's loadRawResults() reads them). `handed` is false when TypeORM ran the query
 * itself (the override ignored): the rows are then its own raw rows of the same query.
 */
export function loadRawRows(
  query: SelectQueryBuilder<ObjectLiteral>,
  signal?: AbortSignal,
  timeoutMs?: number,
): Promise<{ rows: Record<string, unknown>[]; handed: boolean }> {
  return rawRowsOf(query, (queryRunner) => loadRawResults(query, queryRunner, signal, timeoutMs))
}

/**
 * `hydrateRows()` of `rows` in slices of `sliceRows`, with a turn of the event loop between
 * slices, for rows that are one entity each (no to-many joins). The same entities, in the same
 * order: TypeORM hydrates each row on its own. A whole chunk in one go would block the thread
 * for its whole hydration, so a slow consumer's timers (and its I/O) would wait for it; in
 * slices, a read-ahead interleaves with the consumer instead.
 */
export async function hydrateInSlices<E extends ObjectLiteral>(
  query: SelectQueryBuilder<E>,
  queryRunner: QueryRunner,
  rows: readonly unknown[],
  sliceRows: number,
): Promise<Hydrated<E>> {
  if (rows.length <= sliceRows) return hydrateRows(query, queryRunner, rows)
  const entities: E[] = []
  let sendsStatements = false
  for (let start = 0; start < rows.length; start += sliceRows) {
    if (start > 0) await new Promise((resolve) => setImmediate(resolve))
    const slice = await hydrateRows(query, queryRunner, rows.slice(start, start + sliceRows))
    for (const entity of slice.entities) entities.push(entity)
    sendsStatements ||= slice.sendsStatements
  }
  return { entities, sendsStatements }
}
