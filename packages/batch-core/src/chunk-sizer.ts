/**
 * How many rows the engine asks the source for next: `chunkSize`, bounded by `maxChunkBytes` at the
 * row width seen so far. Internal to the engine.
 *
 * Nobody knows a query's row width before its rows arrive, so the first round trip is a probe of at
 * most {@link PROBE_ROWS} rows; every chunk after it is sized from the widest rows sampled so far.
 * When batches are smaller than chunks, the first round trip reads one batch (after a probe, the
 * second reads the rest of it), so the caller's first batch does not wait for a whole chunk.
 */
export class ChunkSizer {
  /** The widest estimate (bytes per item) seen so far; 0 before the first chunk. */
  #bytesPerItem = 0
  #chunks = 0

  constructor(
    private readonly chunkSize: number,
    private readonly batchYieldSize: number | undefined,
    private readonly maxChunkBytes: number,
  ) {}

  /** The size of the next request, `received` items having arrived so far. */
  next(received: number): number {
    const { chunkSize, batchYieldSize } = this
    const bounded = this.maxChunkBytes !== Number.POSITIVE_INFINITY
    let size = chunkSize
    if (bounded) size = this.#chunks === 0 ? Math.min(size, PROBE_ROWS) : Math.min(size, Math.max(1, Math.floor(this.maxChunkBytes / Math.max(1, this.#bytesPerItem))))
    // the first round trip reads one batch (and, after a probe smaller than that, the second the rest of it)
    const firstBatch = this.#chunks === 0 || (this.#chunks === 1 && bounded && PROBE_ROWS < (batchYieldSize ?? 0))
    const firstBatchLacks = firstBatch && batchYieldSize !== undefined && batchYieldSize < chunkSize ? batchYieldSize - received : 0
    return firstBatchLacks > 0 ? Math.min(size, firstBatchLacks) : size
  }

  /** Learns the row width from a chunk: a few items spread over it are measured. */
  observe(items: readonly unknown[]): void {
    this.#chunks++
    if (this.maxChunkBytes === Number.POSITIVE_INFINITY || items.length === 0) return
    const step = Math.max(1, Math.floor(items.length / SAMPLES))
    for (let i = 0; i < items.length; i += step) {
      const bytes = estimateBytes(items[i], 0)
      if (bytes > this.#bytesPerItem) this.#bytesPerItem = bytes
    }
  }
}

/** Rows of the first round trip, whose width nothing tells in advance. */
export const PROBE_ROWS = 32
/** Items measured per chunk. */
const SAMPLES = 8
/** How deep into nested objects (relations, JSON values, arrays) an item is measured. */
const MAX_DEPTH = 3

/**
 * A rough size of a value in memory: strings by length, byte arrays by length, numbers and other
 * scalars a word, objects and arrays by what they hold plus a word per entry. Only proportions
 * matter (wide rows against narrow ones), and entities' non-enumerable ORM state is left out.
 */
export function estimateBytes(value: unknown, depth: number): number {
  switch (typeof value) {
    case 'string':
      return 16 + value.length
    case 'object': {
      if (value === null) return 8
      if (ArrayBuffer.isView(value)) return 16 + value.byteLength
      if (value instanceof Date) return 24
      if (depth >= MAX_DEPTH) return 16
      let bytes = 16
      if (Array.isArray(value)) {
        for (const entry of value) bytes += 8 + estimateBytes(entry, depth + 1)
        return bytes
      }
      for (const key in value) bytes += 8 + estimateBytes((value as Record<string, unknown>)[key], depth + 1)
      return bytes
    }
    default:
      return 8
  }
}
