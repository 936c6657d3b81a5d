import {
  assertAbortSignal,
  assertFunction,
  assertNonNegativeInteger,
  assertOptionsObject,
  assertPositiveInteger,
} from './validate.js'

/**
 * Progress reported after each yielded batch (or item, when `batchYieldSize` is not set).
 *
 * @example
 * ```ts
 * import { iterateChunks, type Progress } from '@batchyield/batch-core'
 *
 * const log = ({ rows, batches, chunks, elapsedMs, cursor }: Progress) =>
 *   console.log(`${rows} rows in ${batches} batches from ${chunks} chunks, ${elapsedMs.toFixed(0)} ms, resume at ${cursor}`)
 * const open = () => ({ next: async () => ({ items: [1, 2, 3], done: true }), close() {} })
 * for await (const batch of iterateChunks(open, { batchYieldSize: 2, onProgress: log })) console.log(batch)
 * ```
 */
export interface Progress {
  /** Items yielded so far. */
  readonly rows: number
  /** Batches yielded so far (items, when yielding one at a time). */
  readonly batches: number
  /** Chunks fetched from the database so far. */
  readonly chunks: number
  /** Milliseconds since iteration started. */
  readonly elapsedMs: number
  /** Resume token positioned after the last yielded item; undefined where the strategy has none. */
  readonly cursor: string | undefined
}

/**
 * Options every batched iterator accepts; adapters extend this interface.
 *
 * @example
 * ```ts
 * import type { BatchOptions } from '@batchyield/batch-core'
 *
 * const options: BatchOptions = { batchYieldSize: 500, chunkSize: 2000, prefetch: 1, limit: 10_000, signal: AbortSignal.timeout(60_000) }
 * ```
 */
export interface BatchOptions {
  /** Items per yielded list. Without it, items are yielded one at a time. */
  readonly batchYieldSize?: number
  /**
   * Rows fetched per database round trip. Default {@link DEFAULT_CHUNK_SIZE}. When `batchYieldSize`
   * is smaller, the first round trip reads `batchYieldSize` rows, so the first batch comes sooner.
   */
  readonly chunkSize?: number
  /** Chunks fetched ahead while the caller works on the current batch. Default {@link DEFAULT_PREFETCH}. */
  readonly prefetch?: number
  /**
   * A bound on one chunk's size in memory, in bytes (estimated from a few items of each chunk), so
   * that wide rows do not make `chunkSize` rows a huge chunk: the engine asks for fewer rows once it
   * has seen how wide they are. The first round trip, before any width is known, reads the first
   * batch (`batchYieldSize` rows, at most `chunkSize`), or 32 rows when items are yielded one at a
   * time; its rows are the first sample. Default {@link DEFAULT_MAX_CHUNK_BYTES}; `Infinity` turns the
   * bound off.
   */
  readonly maxChunkBytes?: number
  /**
   * How many times a chunk read that failed in a way its source calls retryable (keyset: a lost
   * connection, a server restart or failover) is tried again, waiting 100 ms, 200 ms, 400 ms, …
   * (at most 5 s) in between; 0 turns retries off. Default {@link DEFAULT_RETRIES}.
   */
  readonly retries?: number
  /**
   * The longest one database statement of a chunk may take, in milliseconds: a stalled network or
   * a black-holed connection otherwise waits as long as the driver does (with pg's defaults,
   * forever). On expiry the statement is cancelled on the server; the cursor strategy then fails
   * with a `ChunkTimeoutError`. Default: none.
   */
  readonly chunkTimeoutMs?: number
  /** Stop after this many items in total. */
  readonly limit?: number
  /** Aborts iteration: the pending fetch is cancelled and the loop throws `signal.reason`. */
  readonly signal?: AbortSignal
  /** Called after each yielded batch. */
  readonly onProgress?: (progress: Progress) => void
}

/**
 * Every option name of {@link BatchOptions}, for adapters that reject unknown options by name.
 *
 * @example
 * const known = new Set([...BATCH_OPTION_NAMES, 'strategy', 'after'])
 */
export const BATCH_OPTION_NAMES = [
  'batchYieldSize',
  'chunkSize',
  'prefetch',
  'maxChunkBytes',
  'retries',
  'chunkTimeoutMs',
  'limit',
  'signal',
  'onProgress',
] as const satisfies readonly (keyof BatchOptions)[]

/**
 * Rows per database round trip when `chunkSize` is not given: large enough that round trips
 * cost little, small enough that a chunk of wide rows stays a few megabytes.
 *
 * @example
 * ```ts
 * import { DEFAULT_CHUNK_SIZE } from '@batchyield/batch-core'
 * console.log(DEFAULT_CHUNK_SIZE) // 2000
 * ```
 */
export const DEFAULT_CHUNK_SIZE = 2000

/**
 * The default bound on a chunk's estimated size in memory: narrow rows (hundreds of bytes) still
 * come `chunkSize` at a time, rows of a megabyte a few at a time.
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_CHUNK_BYTES } from '@batchyield/batch-core'
 * console.log(DEFAULT_MAX_CHUNK_BYTES) // 16777216 (16 MiB)
 * ```
 */
export const DEFAULT_MAX_CHUNK_BYTES = 16 * 1024 * 1024

/**
 * Retries of a retryable chunk read when `retries` is not given: with the back-off between them,
 * about 16 seconds, enough for a database restart or a failover.
 *
 * @example
 * ```ts
 * import { DEFAULT_RETRIES } from '@batchyield/batch-core'
 * console.log(DEFAULT_RETRIES) // 8
 * ```
 */
export const DEFAULT_RETRIES = 8

/**
 * Chunks read ahead when `prefetch` is not given: one is enough to overlap database time with
 * the caller's time, at the cost of one extra chunk in memory.
 *
 * @example
 * ```ts
 * import { DEFAULT_PREFETCH } from '@batchyield/batch-core'
 * console.log(DEFAULT_PREFETCH) // 1
 * ```
 */
export const DEFAULT_PREFETCH = 1

/**
 * {@link BatchOptions} after validation, with defaults applied (what {@link validateBatchOptions} returns).
 *
 * @example
 * ```ts
 * import { validateBatchOptions, type ResolvedBatchOptions } from '@batchyield/batch-core'
 *
 * const resolved: ResolvedBatchOptions = validateBatchOptions({ batchYieldSize: 100 })
 * console.log(resolved.chunkSize) // 2000
 * ```
 */
export interface ResolvedBatchOptions {
  readonly batchYieldSize: number | undefined
  readonly chunkSize: number
  readonly prefetch: number
  readonly maxChunkBytes: number
  readonly chunkTimeoutMs: number | undefined
  readonly retries: number
  readonly limit: number | undefined
  readonly signal: AbortSignal | undefined
  readonly onProgress: ((progress: Progress) => void) | undefined
}

/**
 * Checks every {@link BatchOptions} field and applies the defaults. Throws a TypeError or
 * RangeError that names the option, the value received and what is accepted. Unknown keys are
 * ignored, so adapters can pass their extended options straight through.
 *
 * @example
 * ```ts
 * import { validateBatchOptions } from '@batchyield/batch-core'
 *
 * validateBatchOptions({ batchYieldSize: 500 }) // { batchYieldSize: 500, chunkSize: 2000, prefetch: 1, ... }
 * validateBatchOptions({ chunkSize: 0 })        // RangeError: chunkSize must be a positive integer (1 to 9007199254740991); received 0
 * ```
 */
export function validateBatchOptions(options: BatchOptions | undefined): ResolvedBatchOptions {
  if (options === undefined) options = {}
  assertOptionsObject('options', options)
  const {
    batchYieldSize,
    chunkSize = DEFAULT_CHUNK_SIZE,
    prefetch = DEFAULT_PREFETCH,
    maxChunkBytes = DEFAULT_MAX_CHUNK_BYTES,
    retries = DEFAULT_RETRIES,
    chunkTimeoutMs,
    limit,
    signal,
    onProgress,
  } = options
  if (batchYieldSize !== undefined) assertPositiveInteger('batchYieldSize', batchYieldSize)
  assertPositiveInteger('chunkSize', chunkSize)
  assertNonNegativeInteger('prefetch', prefetch)
  if (maxChunkBytes !== Number.POSITIVE_INFINITY)
    assertPositiveInteger('maxChunkBytes', maxChunkBytes, 'or Infinity to turn the bound off')
  assertNonNegativeInteger('retries', retries)
  if (chunkTimeoutMs !== undefined) assertPositiveInteger('chunkTimeoutMs', chunkTimeoutMs)
  if (limit !== undefined) assertNonNegativeInteger('limit', limit)
  if (signal !== undefined) assertAbortSignal('signal', signal)
  if (onProgress !== undefined) assertFunction('onProgress', onProgress)
  return { batchYieldSize, chunkSize, prefetch, maxChunkBytes, retries, chunkTimeoutMs, limit, signal, onProgress }
}
