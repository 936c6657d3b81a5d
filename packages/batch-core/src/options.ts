/** Progress reported after each yielded batch (or item, when `batchYieldSize` is not set). */
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

/** Options every batched iterator accepts; adapters extend this interface. */
export interface BatchOptions {
  /** Items per yielded list. Without it, items are yielded one at a time. */
  readonly batchYieldSize?: number
  /** Rows fetched per database round trip. Default {@link DEFAULT_CHUNK_SIZE}. */
  readonly chunkSize?: number
  /** Chunks fetched ahead while the caller works on the current batch. Default {@link DEFAULT_PREFETCH}. */
  readonly prefetch?: number
  /** Stop after this many items in total. */
  readonly limit?: number
  /** Aborts iteration: the pending fetch is cancelled and the loop throws `signal.reason`. */
  readonly signal?: AbortSignal
  /** Called after each yielded batch. */
  readonly onProgress?: (progress: Progress) => void
}

export const DEFAULT_CHUNK_SIZE = 2000
export const DEFAULT_PREFETCH = 1
