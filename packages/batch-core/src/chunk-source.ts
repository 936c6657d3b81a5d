/**
 * What an adapter hands the engine: a way to pull the next chunk of hydrated items from the
 * database, and a way to release what it holds. The engine owns everything else (sizes,
 * regrouping, limits, read-ahead, abort, progress, clean-up).
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
}

export interface Chunk<T> {
  readonly items: readonly T[]
  /** True when the source knows there is nothing after these items (saves one round trip). */
  readonly done: boolean
}

/** Opens a source; called on the first `next()` of the iterator, never before. */
export type OpenChunkSource<T> = () => ChunkSource<T> | Promise<ChunkSource<T>>
