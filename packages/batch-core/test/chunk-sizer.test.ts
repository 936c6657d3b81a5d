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
        const items = Array.from({ length: Math.max(0, Math.min(size, rows - offset)) }, (_, i) => ({
          id: offset + i,
          payload: payload(width(offset + i)),
        }))
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

/** Each yielded batch's length, with how many requests had been made when it came. */
async function batchesAndRequests(
  iterator: AsyncIterable<unknown[]>,
  requests: readonly number[],
): Promise<{ length: number; requestsSoFar: number }[]> {
  const seen: { length: number; requestsSoFar: number }[] = []
  for await (const batch of iterator) seen.push({ length: batch.length, requestsSoFar: requests.length })
  return seen
}

describe('maxChunkBytes: chunks bounded in bytes as well as rows', () => {
  test('the first round trip reads the first batch; wide rows then come as many as fit in maxChunkBytes', async () => {
    const { open, requests } = rowsOf(1000, () => 100_000)
    expect(await count(iterateChunks(open, { batchYieldSize: 10, chunkSize: 2000, maxChunkBytes: 1_000_000 }))).toBe(
      1000,
    )
    expect(requests[0]).toBe(10)
    expect(new Set(requests.slice(1, -1))).toEqual(new Set([9])) // 1,000,000 / (100,000 + overhead)
  })

  test('a first batch wider than maxChunkBytes is still read in one round trip (the caller holds it whole anyway); the next requests are sized', async () => {
    const { open, requests } = rowsOf(300, () => 100_000)
    const seen = await batchesAndRequests(
      iterateChunks(open, { batchYieldSize: 50, chunkSize: 2000, maxChunkBytes: 1_000_000, prefetch: 0 }),
      requests,
    )
    expect(seen[0]).toEqual({ length: 50, requestsSoFar: 1 })
    expect(requests.slice(0, 3)).toEqual([50, 9, 9])
  })

  test('narrow rows: the same requests as without the bound (the first batch, then whole chunks), and the first batch after one round trip', async () => {
    for (const maxChunkBytes of [undefined, Number.POSITIVE_INFINITY]) {
      const { open, requests } = rowsOf(10_000, () => 100)
      const seen = await batchesAndRequests(
        iterateChunks(open, { batchYieldSize: 500, chunkSize: 2000, prefetch: 0, maxChunkBytes }),
        requests,
      )
      expect(seen.reduce((n, batch) => n + batch.length, 0)).toBe(10_000)
      expect(seen[0]).toEqual({ length: 500, requestsSoFar: 1 })
      expect(requests).toEqual([500, 2000, 2000, 2000, 2000, 2000]) // the last asks a whole chunk and gets the 1500 left
    }
  })

  test('with read-ahead the request sent ahead after the first batch is sized from it', async () => {
    const { open, requests } = rowsOf(10_000, () => 100)
    const seen = await batchesAndRequests(
      iterateChunks(open, { batchYieldSize: 500, chunkSize: 2000, prefetch: 1 }),
      requests,
    )
    expect(seen[0]?.length).toBe(500)
    expect(requests.slice(0, 3)).toEqual([500, 2000, 2000])
  })

  test('batches as large as chunks or larger: the first request is a whole chunk, as without the bound', async () => {
    for (const batchYieldSize of [2000, 5000]) {
      const { open, requests } = rowsOf(5000, () => 10)
      const seen = await batchesAndRequests(
        iterateChunks(open, { batchYieldSize, chunkSize: 2000, prefetch: 0 }),
        requests,
      )
      expect(seen[0]).toEqual({ length: batchYieldSize, requestsSoFar: Math.ceil(batchYieldSize / 2000) })
      expect(requests).toEqual([2000, 2000, 2000])
    }
  })

  test('without batchYieldSize the first round trip reads 32 rows (the first item comes from it), then whole chunks', async () => {
    const { open, requests } = rowsOf(5000, () => 10)
    let n = 0
    for await (const _ of iterateChunks(open, { chunkSize: 2000, prefetch: 0 })) {
      if (n === 0) expect(requests).toHaveLength(1)
      n++
    }
    expect(n).toBe(5000)
    expect(requests).toEqual([32, 2000, 2000, 2000]) // the last asks a whole chunk and gets the 968 left
  })

  test('a retried first read asks for the same size again', async () => {
    const { open: openRows, requests } = rowsOf(3000, () => 10)
    let failed = false
    const open = (): ChunkSource<unknown> => {
      const source = openRows()
      return {
        async next(size, signal) {
          if (!failed) {
            failed = true
            requests.push(size)
            throw new Error('connection lost')
          }
          return source.next(size, signal)
        },
        retryable: () => true,
        close() {},
      }
    }
    expect(await count(iterateChunks(open, { batchYieldSize: 100, chunkSize: 2000, prefetch: 0 }))).toBe(3000)
    expect(requests).toEqual([100, 100, 2000, 2000])
  })

  test('rows that widen mid-run shrink the chunks from the next request on', async () => {
    const { open, requests } = rowsOf(3000, (i) => (i < 1000 ? 50 : 50_000))
    expect(
      await count(iterateChunks(open, { batchYieldSize: 100, chunkSize: 1000, maxChunkBytes: 5_000_000, prefetch: 0 })),
    ).toBe(3000)
    const afterWide = requests.slice(
      requests.findIndex((_, i) => requests.slice(0, i).reduce((a, b) => a + b, 0) > 1000) + 1,
    )
    expect(Math.max(...afterWide)).toBeLessThanOrEqual(Math.floor(5_000_000 / 50_000))
  })

  test('Infinity turns the bound off: whole chunks, also without batchYieldSize', async () => {
    const { open, requests } = rowsOf(5000, () => 1_000_000)
    expect(
      await count(
        iterateChunks(open, { batchYieldSize: 2000, chunkSize: 2000, maxChunkBytes: Number.POSITIVE_INFINITY }),
      ),
    ).toBe(5000)
    expect(requests).toEqual([2000, 2000, 2000])
    const plain = rowsOf(3000, () => 10)
    let items = 0
    for await (const _ of iterateChunks(plain.open, { chunkSize: 2000, maxChunkBytes: Number.POSITIVE_INFINITY }))
      items++
    expect(items).toBe(3000)
    expect(plain.requests).toEqual([2000, 2000])
  })

  test('limit still caps the total exactly', async () => {
    const { open, requests } = rowsOf(5000, () => 10)
    expect(await count(iterateChunks(open, { batchYieldSize: 7, chunkSize: 100, limit: 250 }))).toBe(250)
    expect(requests.reduce((a, b) => a + b, 0)).toBe(250)
  })

  test('bad values name the option, the value and what is accepted, before anything runs', () => {
    expect(DEFAULT_MAX_CHUNK_BYTES).toBe(16 * 1024 * 1024)
    expect(() => validateBatchOptions({ maxChunkBytes: 0 })).toThrow(RangeError)
    expect(() => validateBatchOptions({ maxChunkBytes: 0 })).toThrow(
      'maxChunkBytes must be a positive integer (1 to 9007199254740991), or Infinity to turn the bound off; received 0',
    )
    expect(() => validateBatchOptions({ maxChunkBytes: '1mb' as never })).toThrow(TypeError)
    expect(() => validateBatchOptions({ maxChunkBytes: Number.NaN })).toThrow(
      /maxChunkBytes must be a positive integer.*received NaN/,
    )
    expect(() =>
      iterateChunks(() => ({ next: async () => ({ items: [], done: true }), close() {} }), { maxChunkBytes: -1 }),
    ).toThrow(/maxChunkBytes/)
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
