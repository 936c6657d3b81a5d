/**
 * The split policy of `partitions()`, the same for every adapter and database: sample key tuples
 * of the query in its order (how is the adapter's business: a page sample, planner statistics, a
 * numbered scan), then cut at evenly spaced samples. The samples only decide how even the
 * partitions are; which rows each one holds is decided by its bounds alone, so every row of the
 * query falls in exactly one partition whatever the sample was.
 */

/** Fewest and most key tuples {@link partitionSampleSize} asks for. */
const MIN_SAMPLE = 1_000
const MAX_SAMPLE = 100_000
/** Samples per partition: each partition's share is then off by about 1% of it at most. */
const SAMPLES_PER_PARTITION = 100

/**
 * How many key tuples to sample for `count` partitions: 100 per partition, at least 1,000 and at
 * most 100,000 (held in memory once, while cutting).
 *
 * @example
 * ```ts
 * import { partitionSampleSize } from '@batchyield/batch-core'
 * partitionSampleSize(4)    // 1000
 * partitionSampleSize(64)   // 6400
 * ```
 */
export function partitionSampleSize(count: number): number {
  return Math.min(MAX_SAMPLE, Math.max(MIN_SAMPLE, count * SAMPLES_PER_PARTITION))
}

/**
 * The percentage of a table's pages to sample (PostgreSQL `TABLESAMPLE SYSTEM (p)`) for about
 * `target` key tuples of a query the planner expects `estimate.rows` from, on a table of
 * `estimate.pages` pages: enough pages for `target` rows, and at least `target` pages, because the
 * rows of one page are neighbours in the ordering when the table is stored in that order (rows
 * inserted in key order), and then count as one sample. 100 (every page) when the estimates are
 * not above the target, or both unknown (NaN); an unknown one leaves it to the other.
 *
 * @example
 * ```ts
 * import { samplePercent } from '@batchyield/batch-core'
 * samplePercent({ rows: 1_000_000, pages: 27_000 }, 1_000) // 3.7: 1,000 of 27,000 pages
 * samplePercent({ rows: 1_000_000, pages: 500 }, 1_000)    // 100
 * ```
 */
export function samplePercent(estimate: { readonly rows: number; readonly pages: number }, target: number): number {
  // an estimate that is not a number says nothing: the other one decides (neither: every page)
  const shares = [estimate.rows, estimate.pages]
    .filter((total) => Number.isFinite(total))
    .map((total) => (total > target && target > 0 ? target / total : 1))
  return shares.length === 0 ? 100 : Math.min(100, 100 * Math.max(...shares))
}

/**
 * The cut points for `count` contiguous ranges of about equal row counts, from `samples` (distinct
 * key tuples of the query, in its order, each standing for about as many rows as the others): the
 * samples at ranks `i * samples.length / count` for i = 1 … count - 1. Fewer cuts (so fewer
 * partitions) when there are fewer samples than ranges; none for no samples or one range.
 *
 * @example
 * ```ts
 * import { splitPoints } from '@batchyield/batch-core'
 * splitPoints([[1], [2], [3], [4], [5], [6], [7], [8]], 4) // [[3], [5], [7]]
 * splitPoints([[1], [2]], 4)                              // [[1], [2]] (three partitions)
 * ```
 */
export function splitPoints<T>(samples: readonly T[], count: number): T[] {
  const cuts: T[] = []
  let previous = -1
  for (let i = 1; i < count; i++) {
    const rank = Math.floor((i * samples.length) / count)
    if (rank === previous || rank >= samples.length) continue
    cuts.push(samples[rank]!)
    previous = rank
  }
  return cuts
}
