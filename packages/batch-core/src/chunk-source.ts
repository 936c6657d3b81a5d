/**
 * What an adapter hands the engine: a way to pull the next chunk of hydrated items from the
 * database, and a way to release what it holds. The engine owns everything else (sizes,
 * regrouping, limits, read-ahead, abort, progress, clean-up).
 *
 * @example
 * ```ts
 * import { iterateChunks, type ChunkSource } from '@batchyield/batch-core'
 *
 * // An offset-paged in-memory source; a real adapter runs a query per next().
 * function arraySource<T>(rows: readonly T[]): ChunkSource<T> {
 *   let offset = 0
 *   return {
 *     async next(size) {
 *       const items = rows.slice(offset, (offset += size))
 *       return { items, done: offset >= rows.length }
 *     },
 *     close() {},
 *   }
 * }
 * for await (const batch of iterateChunks(() => arraySource(['a', 'b', 'c']), { batchYieldSize: 2 })) console.log(batch)
 * ```
 */
export interface ChunkSource<T> {
  /**
   * Fetches the next chunk of at most `size` items, in order. Calls are never concurrent: the
   * engine waits for one to settle before starting the next. `signal` aborts when the caller
   * aborts or leaves the loop; an adapter may use it to cancel the running query. It is the same
   * signal on every call, so remove any listener you add once the call settles.
   *
   * Return fewer than `size` items whenever convenient; the engine keeps asking until a chunk
   * is empty or marked `done`. Items beyond a `limit` are dropped by the engine.
   */
  next(size: number, signal: AbortSignal): Promise<Chunk<T>>
  /**
   * Releases whatever the source holds (cursor, transaction, connection). Called exactly once,
   * after the last `next()` has settled, however iteration ends.
   */
  close(): Promise<void> | void
  /**
   * The resume token that positions a new run right after `item` (keyset sources only). The
   * engine calls it for the last item of each batch when `onProgress` is set.
   */
  cursorOf?(item: T): string
  /**
   * Whether `next()` may simply be called again after it failed with `error` (keyset sources: the
   * connection was lost, and a failed read leaves the position where it was). The engine then
   * retries it with back-off, up to the `retries` option. Without it, every error ends the run.
   */
  retryable?(error: unknown): boolean
}

/**
 * One round trip's worth of items.
 *
 * @example
 * ```ts
 * import type { Chunk } from '@batchyield/batch-core'
 * const last: Chunk<number> = { items: [7, 8], done: true }
 * ```
 */
export interface Chunk<T> {
  readonly items: readonly T[]
  /** True when the source knows there is nothing after these items (saves one round trip). */
  readonly done: boolean
}

/**
 * Opens a source; called on the first `next()` of the iterator, never before (so building an
 * iterator runs no query). May be async, e.g. to acquire a connection.
 *
 * @example
 * ```ts
 * import type { OpenChunkSource } from '@batchyield/batch-core'
 * const open: OpenChunkSource<number> = async () => ({ next: async () => ({ items: [], done: true }), close() {} })
 * ```
 */
export type OpenChunkSource<T> = () => ChunkSource<T> | Promise<ChunkSource<T>>
