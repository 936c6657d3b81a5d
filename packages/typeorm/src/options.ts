import type { BatchOptions, RangeOptions } from '@batchyield/batch-core'

/**
 * How the rows are read:
 * - `'keyset'`: one query per chunk that seeks past the last row's sort key; nothing is held
 *   between chunks. Works on every database; needs an ordering by columns of the root entity.
 * - `'cursor'`: a server-side cursor in one read-only REPEATABLE READ transaction (PostgreSQL);
 *   one snapshot for the whole run, any ORDER BY.
 * - `'auto'` (default): `'keyset'` when the ordering allows it, else `'cursor'` on PostgreSQL.
 */
export type Strategy = 'auto' | 'keyset' | 'cursor'

/** The strategies `strategy` accepts, in the order error messages list them. */
export const STRATEGIES = ['auto', 'keyset', 'cursor'] as const satisfies readonly Strategy[]

/**
 * Options of {@link aiterator} / `qb.aiterator()`: the engine's {@link BatchOptions} plus the
 * read strategy, a resume token, and where to start and stop (`from`, `to`, or a `partition`
 * from {@link partitions}; keyset only).
 *
 * @example
 * ```ts
 * let token: string | undefined
 * for await (const books of qb.aiterator({ batchYieldSize: 500, chunkSize: 2000, onProgress: (p) => (token = p.cursor) })) {
 *   await index(books)
 * }
 * // after a crash: qb.aiterator({ batchYieldSize: 500, after: token })
 * ```
 */
export interface TypeormBatchOptions extends BatchOptions, RangeOptions {
  /** Default `'auto'`. See {@link Strategy}. */
  readonly strategy?: Strategy
  /**
   * Resume token (`progress.cursor` reported by `onProgress` in an earlier run of the same query):
   * the run starts right after the batch it was reported for. Keyset only.
   */
  readonly after?: string
}
