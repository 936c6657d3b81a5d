/**
 * How many rows the engine asks the source for next: `chunkSize`, bounded by `maxChunkBytes` at the
 * row width seen so far. Internal to the engine.
 *
 * Nobody knows a query's row width before its rows arrive. The first round trip reads the first
 * batch (`batchYieldSize` rows, at most `chunkSize`), so the caller gets it after one round trip, and
 * its rows are the sample: the caller holds a batch of them anyway, so reading it whole costs no
 * memory the batch does not. Without `batchYieldSize` it reads {@link PROBE_ROWS} rows. Every
 * request after the first is sized from the widest rows sampled so far.
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

  /** The size of the next request. */
  next(): number {
    const { chunkSize, maxChunkBytes } = this
    const bounded = maxChunkBytes !== Number.POSITIVE_INFINITY
    if (this.#chunks === 0) return Math.min(chunkSize, this.batchYieldSize ?? (bounded ? PROBE_ROWS : chunkSize))
    if (!bounded) return chunkSize
    return Math.min(chunkSize, Math.max(1, Math.floor(maxChunkBytes / Math.max(1, this.#bytesPerItem))))
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

/** Rows of the first round trip when items are yielded one at a time: their width is not known in advance. */
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
