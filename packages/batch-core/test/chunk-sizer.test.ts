import { describe, expect, test } from 'vitest'
import { type ChunkSource, DEFAULT_MAX_CHUNK_BYTES, iterateChunks, validateBatchOptions } from '../src/index.js'
import { estimateBytes } from '../src/chunk-sizer.js'

/** A source of `rows` objects whose `payload` is `width` characters (one shared string), recording each request's size. */
function rowsOf(rows: number, width: (index: number) => number) {
  const requests: number[] = []
  const payloads = new Map<number, string>()
  const payload = (n: number) => payloads.get(n) ?? payloads.set(n, 'x'.repeat(n)).get(n)!
  const open = (): ChunkSource<{ id: number; payload: string }> => {
    let offset = 0
    return {
      async next(size) {
        requests.push(size)
        const items = Array.from({ length: Math.max(0, Math.min(size, rows - offset)) }, (_, i) => ({ id: offset + i, payload: payload(width(offset + i)) }))
        offset += items.length
        return { items, done: offset >= rows }
      },
      close() {},
    }
  }
  return { open, requests }
}

async function count(iterator: AsyncIterable<unknown[]>): Promise<number> {
  let n = 0
  for await (const batch of iterator) n += batch.length
  return n
}

describe('maxChunkBytes: chunks bounded in bytes as well as rows', () => {
  test('the first round trip is a probe of 32 rows; wide rows then come as many as fit in maxChunkBytes', async () => {
    const { open, requests } = rowsOf(1000, () => 100_000)
    expect(await count(iterateChunks(open, { batchYieldSize: 10, chunkSize: 2000, maxChunkBytes: 1_000_000 }))).toBe(1000)
    expect(requests[0]).toBe(10) // one batch first (smaller than the probe)
    expect(new Set(requests.slice(1, -1))).toEqual(new Set([9])) // 1,000,000 / (100,000 + overhead)
  })

  test('narrow rows still come chunkSize at a time after the probe, and the first batch is the probe plus what it lacks', async () => {
    const { open, requests } = rowsOf(10_000, () => 100)
    expect(await count(iterateChunks(open, { batchYieldSize: 500, chunkSize: 2000 }))).toBe(10_000)
    expect(requests.slice(0, 4)).toEqual([32, 468, 2000, 2000])
  })

  test('without batchYieldSize the probe comes first, then whole chunks', async () => {
    const { open, requests } = rowsOf(5000, () => 10)
    let n = 0
    for await (const _ of iterateChunks(open, { chunkSize: 2000 })) n++
    expect(n).toBe(5000)
    expect(requests).toEqual([32, 2000, 2000, 2000]) // the last asks a whole chunk and gets the 968 left
  })

  test('rows that widen mid-run shrink the chunks from the next request on', async () => {
    const { open, requests } = rowsOf(3000, (i) => (i < 1000 ? 50 : 50_000))
    expect(await count(iterateChunks(open, { batchYieldSize: 100, chunkSize: 1000, maxChunkBytes: 5_000_000, prefetch: 0 }))).toBe(3000)
    const afterWide = requests.slice(requests.findIndex((_, i) => requests.slice(0, i).reduce((a, b) => a + b, 0) > 1000) + 1)
    expect(Math.max(...afterWide)).toBeLessThanOrEqual(Math.floor(5_000_000 / 50_000))
  })

  test('Infinity turns the bound and the probe off', async () => {
    const { open, requests } = rowsOf(5000, () => 1_000_000)
    expect(await count(iterateChunks(open, { batchYieldSize: 2000, chunkSize: 2000, maxChunkBytes: Number.POSITIVE_INFINITY }))).toBe(5000)
    expect(requests).toEqual([2000, 2000, 2000])
  })

  test('limit still caps the total exactly', async () => {
    const { open, requests } = rowsOf(5000, () => 10)
    expect(await count(iterateChunks(open, { batchYieldSize: 7, chunkSize: 100, limit: 250 }))).toBe(250)
    expect(requests.reduce((a, b) => a + b, 0)).toBe(250)
  })

  test('bad values name the option, the value and what is accepted, before anything runs', () => {
    expect(DEFAULT_MAX_CHUNK_BYTES).toBe(16 * 1024 * 1024)
    expect(() => validateBatchOptions({ maxChunkBytes: 0 })).toThrow(RangeError)
    expect(() => validateBatchOptions({ maxChunkBytes: 0 })).toThrow('maxChunkBytes must be a positive integer (1 to 9007199254740991), or Infinity to turn the bound off; received 0')
    expect(() => validateBatchOptions({ maxChunkBytes: '1mb' as never })).toThrow(TypeError)
    expect(() => validateBatchOptions({ maxChunkBytes: Number.NaN })).toThrow(/maxChunkBytes must be a positive integer.*received NaN/)
    expect(() => iterateChunks(() => ({ next: async () => ({ items: [], done: true }), close() {} }), { maxChunkBytes: -1 })).toThrow(/maxChunkBytes/)
  })
})

describe('estimateBytes', () => {
  test('grows with strings, byte arrays and nested values; stops at a depth', () => {
    expect(estimateBytes('x'.repeat(1000), 0)).toBeGreaterThan(1000)
    expect(estimateBytes(Buffer.alloc(5000), 0)).toBeGreaterThan(5000)
    expect(estimateBytes({ a: 'x'.repeat(100), b: { c: [1, 2, 'y'.repeat(100)] } }, 0)).toBeGreaterThan(200)
    const deep = { a: { b: { c: { d: 'x'.repeat(10_000) } } } }
    expect(estimateBytes(deep, 0)).toBeLessThan(1000)
  })
})
