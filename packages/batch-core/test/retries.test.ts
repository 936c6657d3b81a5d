import { describe, expect, test } from 'vitest'
import { type ChunkSource, iterateChunks, validateBatchOptions } from '../src/index.js'
import { retryDelayMs } from '../src/chunk-reader.js'

class Lost extends Error {}

/** Ids 0..rows-1 in chunks; the calls listed in `failing` throw first (Lost unless `error` says otherwise), the position unchanged. */
function flaky(
  rows: number,
  failing: Set<number>,
  error: () => unknown = () => new Lost('connection lost'),
  retryable = (e: unknown) => e instanceof Lost,
) {
  const calls: { size: number; failed: boolean }[] = []
  const open = (): ChunkSource<number> => {
    let offset = 0
    return {
      async next(size) {
        const call = calls.length
        const failed = failing.has(call)
        calls.push({ size, failed })
        await new Promise((resolve) => setTimeout(resolve, 0))
        if (failed) throw error()
        const items = Array.from({ length: Math.min(size, rows - offset) }, (_, i) => offset + i)
        offset += items.length
        return { items, done: offset >= rows }
      },
      close() {},
      retryable,
    }
  }
  return { open, calls }
}

async function ids(iterator: AsyncIterable<number[]>): Promise<number[]> {
  const out: number[] = []
  for await (const batch of iterator) out.push(...batch)
  return out
}

describe('retries: a retryable chunk read is tried again', () => {
  test('a chunk read that fails retryably is retried and the run yields every item once', async () => {
    const { open, calls } = flaky(50, new Set([1, 3, 4]))
    expect(await ids(iterateChunks(open, { batchYieldSize: 10, chunkSize: 10, prefetch: 0 }))).toEqual(
      Array.from({ length: 50 }, (_, i) => i),
    )
    expect(calls.filter((c) => c.failed)).toHaveLength(3)
  })

  test('gives up after `retries` attempts with the last error', async () => {
    const { open, calls } = flaky(50, new Set([1, 2, 3]))
    await expect(ids(iterateChunks(open, { batchYieldSize: 10, chunkSize: 10, retries: 2 }))).rejects.toThrow(
      'connection lost',
    )
    expect(calls).toHaveLength(4) // the first chunk, then the failing read and its two retries
  })

  test('retries: 0 turns it off; errors the source does not call retryable are never retried', async () => {
    const off = flaky(50, new Set([1]))
    await expect(ids(iterateChunks(off.open, { batchYieldSize: 10, chunkSize: 10, retries: 0 }))).rejects.toThrow(Lost)
    expect(off.calls).toHaveLength(2)
    const other = flaky(50, new Set([1]), () => new TypeError('bad SQL'))
    await expect(ids(iterateChunks(other.open, { batchYieldSize: 10, chunkSize: 10 }))).rejects.toThrow('bad SQL')
    expect(other.calls).toHaveLength(2)
  })

  test('an abort during the back-off ends the run at once with the abort reason and no further read', async () => {
    const { open, calls } = flaky(50, new Set([1, 2, 3, 4, 5, 6, 7, 8]))
    const controller = new AbortController()
    const run = ids(iterateChunks(open, { batchYieldSize: 10, chunkSize: 10, prefetch: 0, signal: controller.signal }))
    await new Promise((resolve) => setTimeout(resolve, 350)) // inside the third back-off (100 + 200 + 400 ms)
    const readsBefore = calls.length
    controller.abort(new Error('stop'))
    await expect(run).rejects.toThrow('stop')
    await new Promise((resolve) => setTimeout(resolve, 600))
    expect(calls.length).toBe(readsBefore)
  })

  test('back-off doubles from 100 ms up to 5 s; the option is validated', () => {
    expect([0, 1, 2, 3, 6, 7, 20].map(retryDelayMs)).toEqual([100, 200, 400, 800, 5000, 5000, 5000])
    expect(validateBatchOptions({}).retries).toBe(8)
    expect(() => validateBatchOptions({ retries: -1 })).toThrow(/retries must be an integer from 0 to .*received -1/)
    expect(() => validateBatchOptions({ retries: '3' as never })).toThrow(TypeError)
  })
})
