import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { type ChunkSource, iterateChunks, type Progress, validateBatchOptions } from '../src/index.js'
import { collect, deferred, macrotask, range, scriptedSource } from './scripted-source.js'

const unhandled: unknown[] = []
const onUnhandled = (reason: unknown): void => void unhandled.push(reason)
beforeEach(() => {
  unhandled.length = 0
  process.on('unhandledRejection', onUnhandled)
})
afterEach(async () => {
  await macrotask()
  process.off('unhandledRejection', onUnhandled)
  expect(unhandled, 'no promise rejection may go unhandled').toEqual([])
})

describe('validation', () => {
  const { open } = scriptedSource({ rows: 3 })

  test.each([
    ['chunkSize', 0, RangeError],
    ['chunkSize', -5, RangeError],
    ['chunkSize', 1.5, RangeError],
    ['chunkSize', Number.NaN, RangeError],
    ['chunkSize', Number.POSITIVE_INFINITY, RangeError],
    ['chunkSize', 2 ** 53, RangeError],
    ['chunkSize', '100', TypeError],
    ['chunkSize', null, TypeError],
    ['batchYieldSize', 0, RangeError],
    ['batchYieldSize', 2.5, RangeError],
    ['batchYieldSize', 10n, TypeError],
    ['prefetch', -1, RangeError],
    ['prefetch', '1', TypeError],
    ['limit', -1, RangeError],
    ['limit', 0.5, RangeError],
  ])('rejects %s = %o synchronously at the call, naming the option and the value', (option, value, ErrorClass) => {
    const call = () => iterateChunks(open, { [option]: value } as never)
    expect(call).toThrow(ErrorClass)
    expect(call).toThrow(option)
    expect(call).toThrow(typeof value === 'string' ? JSON.stringify(value) : String(value))
  })

  test('rejects a signal that is not an AbortSignal with a TypeError', () => {
    expect(() => iterateChunks(open, { signal: { aborted: false } as AbortSignal })).toThrow(
      /signal must be an AbortSignal .*; received \{"aborted":false\}/,
    )
  })

  test('rejects an onProgress that is not a function with a TypeError', () => {
    expect(() => iterateChunks(open, { onProgress: 'log' as never })).toThrow(
      /onProgress must be a function; received "log"/,
    )
  })

  test('rejects options that are not an object, and an open that is not a function', () => {
    expect(() => iterateChunks(open, null as never)).toThrow(/options must be an object; received null/)
    expect(() => iterateChunks(42 as never)).toThrow(/open must be a function.*received 42/)
  })

  test('does not open the source until the first next()', async () => {
    const { open: lazyOpen, log } = scriptedSource({ rows: 3 })
    const iterator = iterateChunks(lazyOpen, { batchYieldSize: 2 })
    await macrotask()
    expect(log.opens).toBe(0)
    expect(await iterator.next()).toEqual({ done: false, value: [0, 1] })
    expect(log.opens).toBe(1)
    await iterator.return()
  })

  test('validateBatchOptions applies the defaults and accepts unknown adapter options', () => {
    expect(validateBatchOptions(undefined)).toEqual({
      batchYieldSize: undefined,
      chunkSize: 2000,
      prefetch: 1,
      maxChunkBytes: 16 * 1024 * 1024,
      retries: 8,
      limit: undefined,
      signal: undefined,
      onProgress: undefined,
    })
    expect(validateBatchOptions({ batchYieldSize: 5, strategy: 'keyset' } as never)).toMatchObject({
      batchYieldSize: 5,
      chunkSize: 2000,
    })
    expect(() => validateBatchOptions({ chunkSize: 0 })).toThrow(
      'chunkSize must be a positive integer (1 to 9007199254740991); received 0',
    )
  })
})

describe('regrouping chunks into batches', () => {
  test('yields lists of batchYieldSize whatever the chunkSize; only the last is shorter', async () => {
    for (const chunkSize of [1, 3, 4, 7, 10, 50]) {
      const { open } = scriptedSource({ rows: 10 })
      expect(await collect(iterateChunks(open, { chunkSize, batchYieldSize: 3 }))).toEqual([
        [0, 1, 2],
        [3, 4, 5],
        [6, 7, 8],
        [9],
      ])
    }
  })

  test('yields single items when batchYieldSize is not given', async () => {
    const { open } = scriptedSource({ rows: 5 })
    expect(await collect(iterateChunks(open, { chunkSize: 2 }))).toEqual([0, 1, 2, 3, 4])
  })

  test('asks the source for chunkSize items per call', async () => {
    const { open, log } = scriptedSource({ rows: 10 })
    await collect(iterateChunks(open, { chunkSize: 4, batchYieldSize: 5 }))
    expect(log.requests).toEqual([4, 4, 4])
  })

  test('keeps asking after a short chunk that is not marked done, and stops at an empty one', async () => {
    const { open, log } = scriptedSource({
      rows: 7,
      done: 'lazy',
      chunkLength: (size, call) => (call % 2 === 0 ? 1 : size),
    })
    expect(await collect(iterateChunks(open, { chunkSize: 3, batchYieldSize: 2 }))).toEqual([
      [0, 1],
      [2, 3],
      [4, 5],
      [6],
    ])
    expect(log.requests.length).toBe(5) // chunks of 1, 3, 1, 2 items, then the empty chunk that ends it
  })

  test('does not ask again after a chunk marked done', async () => {
    const { open, log } = scriptedSource({ rows: 8, done: 'eager' })
    await collect(iterateChunks(open, { chunkSize: 4 }))
    expect(log.requests).toEqual([4, 4])
  })

  test('an empty source yields nothing and is still closed', async () => {
    const { open, log } = scriptedSource({ rows: 0 })
    expect(await collect(iterateChunks(open, { batchYieldSize: 3 }))).toEqual([])
    expect(log.closes).toBe(1)
  })

  test('yielded batches are new arrays: changing one touches neither the source chunk nor other batches', async () => {
    const chunk = [1, 2, 3, 4]
    let calls = 0
    const open = (): ChunkSource<number> => ({
      next: async () => ({ items: calls++ === 0 ? chunk : [], done: false }),
      close() {},
    })
    const batches = await collect(iterateChunks(open, { batchYieldSize: 4, chunkSize: 4 }))
    expect(batches).toEqual([[1, 2, 3, 4]])
    expect(batches[0]).not.toBe(chunk)
    batches[0]!.push(5)
    expect(chunk).toEqual([1, 2, 3, 4])
  })

  test('items that are themselves arrays are not flattened when a batch spans chunks', async () => {
    const rows = [[1], [2], [3]]
    let offset = 0
    const open = (): ChunkSource<number[]> => ({
      next: async (size) => ({ items: rows.slice(offset, (offset += size)), done: offset >= rows.length }),
      close() {},
    })
    expect(await collect(iterateChunks(open, { chunkSize: 1, batchYieldSize: 3 }))).toEqual([[[1], [2], [3]]])
  })

  test('accepts an open() that returns a promise', async () => {
    const { open } = scriptedSource({ rows: 3 })
    expect(await collect(iterateChunks(async () => open(), { batchYieldSize: 2 }))).toEqual([[0, 1], [2]])
  })

  test('rejects a chunk that is not { items: array } with a TypeError, and closes the source', async () => {
    let closes = 0
    const open = (): ChunkSource<number> => ({ next: async () => ({ rows: [1] }) as never, close: () => void closes++ })
    await expect(collect(iterateChunks(open))).rejects.toThrow(
      /next\(\) must resolve to \{ items: T\[\], done: boolean \}; received \{"rows":\[1\]\}/,
    )
    expect(closes).toBe(1)
  })

  test('rejects an open() that does not return a ChunkSource', async () => {
    await expect(collect(iterateChunks(() => ({}) as never))).rejects.toThrow(/open\(\) must return a ChunkSource/)
  })

  test('an error thrown by open() propagates and nothing is closed', async () => {
    const boom = new Error('cannot connect')
    await expect(
      collect(
        iterateChunks(() => {
          throw boom
        }),
      ),
    ).rejects.toBe(boom)
  })
})

describe('limit', () => {
  test('stops after limit items and asks for min(chunkSize, remaining)', async () => {
    const { open, log } = scriptedSource({ rows: 100 })
    expect(await collect(iterateChunks(open, { chunkSize: 4, batchYieldSize: 3, limit: 10 }))).toEqual([
      [0, 1, 2],
      [3, 4, 5],
      [6, 7, 8],
      [9],
    ])
    expect(log.requests).toEqual([3, 4, 3]) // the first round trip reads one batch
    expect(log.closes).toBe(1)
  })

  test('the first round trip reads one batch when batches are smaller than chunks, every later one a chunk', async () => {
    const ramped = scriptedSource({ rows: 23 })
    expect((await collect(iterateChunks(ramped.open, { chunkSize: 10, batchYieldSize: 4 }))).flat()).toEqual(
      range(0, 23),
    )
    expect(ramped.log.requests).toEqual([4, 10, 10])
    for (const options of [
      { chunkSize: 10, batchYieldSize: 10 },
      { chunkSize: 10, batchYieldSize: 25 },
      { chunkSize: 10 },
    ]) {
      const plain = scriptedSource({ rows: 23 })
      await collect(iterateChunks(plain.open, options))
      expect(plain.log.requests).toEqual([10, 10, 10])
    }
  })

  test('truncates a source that returns more than it was asked for', async () => {
    const open = (): ChunkSource<number> => ({ next: async () => ({ items: range(0, 50), done: false }), close() {} })
    expect(await collect(iterateChunks(open, { chunkSize: 10, limit: 7, batchYieldSize: 5 }))).toEqual([
      [0, 1, 2, 3, 4],
      [5, 6],
    ])
  })

  test('limit 0 yields nothing without opening the source', async () => {
    const { open, log } = scriptedSource({ rows: 5 })
    expect(await collect(iterateChunks(open, { limit: 0 }))).toEqual([])
    expect(log.opens).toBe(0)
  })

  test('a limit larger than the source ends with the source', async () => {
    const { open } = scriptedSource({ rows: 5 })
    expect(await collect(iterateChunks(open, { limit: 1000, chunkSize: 2 }))).toEqual([0, 1, 2, 3, 4])
  })
})

describe('read-ahead (prefetch)', () => {
  /** Takes the first batch, lets the engine run for a while, and counts the source calls. */
  async function callsWhileCallerHoldsFirstBatch(prefetch: number): Promise<number> {
    const { open, log } = scriptedSource({ rows: 100 })
    const iterator = iterateChunks(open, { chunkSize: 10, batchYieldSize: 10, prefetch })
    await iterator.next()
    for (let i = 0; i < 20; i++) await macrotask()
    const calls = log.requests.length
    await iterator.return()
    expect(log.violations).toEqual([])
    return calls
  }

  test('prefetch 0 fetches only when the caller needs more', async () => {
    expect(await callsWhileCallerHoldsFirstBatch(0)).toBe(1)
  })

  test('prefetch 1 (the default) fetches the next chunk while the caller works', async () => {
    expect(await callsWhileCallerHoldsFirstBatch(1)).toBe(2)
  })

  test('prefetch N keeps N chunks fetched ahead, one call at a time', async () => {
    expect(await callsWhileCallerHoldsFirstBatch(3)).toBe(4)
  })

  test('fetches never overlap, even with a deep read-ahead and a slow caller', async () => {
    const { open, log } = scriptedSource({
      rows: 200,
      delay: (call) => new Promise((resolve) => setTimeout(resolve, call % 3)),
    })
    const seen: number[] = []
    for await (const batch of iterateChunks(open, { chunkSize: 7, batchYieldSize: 5, prefetch: 4 })) {
      seen.push(...batch)
      if (seen.length % 20 === 0) await macrotask()
    }
    expect(seen).toEqual(range(0, 200))
    expect(log.violations).toEqual([])
  })

  test('prefetch never reads past the limit', async () => {
    const { open, log } = scriptedSource({ rows: 100 })
    await collect(iterateChunks(open, { chunkSize: 10, limit: 25, prefetch: 5 }))
    expect(log.requests).toEqual([10, 10, 5])
  })
})

describe('abort', () => {
  test('an already-aborted signal rejects the first next() with its reason, without opening the source', async () => {
    const { open, log } = scriptedSource({ rows: 5 })
    const reason = new Error('stop')
    const iterator = iterateChunks(open, { signal: AbortSignal.abort(reason) })
    await expect(iterator.next()).rejects.toBe(reason)
    expect(log.opens).toBe(0)
    expect(log.closes).toBe(0)
  })

  test('abort during a fetch ends iteration at once with the reason; close() waits for that fetch to settle', async () => {
    const gate = deferred()
    const { open, log } = scriptedSource({ rows: 10, delay: (call) => (call === 1 ? gate.promise : macrotask()) })
    const controller = new AbortController()
    const iterator = iterateChunks(open, { chunkSize: 5, batchYieldSize: 5, prefetch: 0, signal: controller.signal })
    expect((await iterator.next()).value).toEqual([0, 1, 2, 3, 4])
    const second = iterator.next()
    await macrotask()
    expect(log.active).toBe(1) // the source ignores the signal and keeps running
    const reason = new Error('user cancelled')
    controller.abort(reason)
    await expect(second).rejects.toBe(reason)
    expect(log.closes).toBe(0) // never while next() runs
    gate.resolve()
    await log.idle()
    await macrotask()
    expect(log.closes).toBe(1)
    expect(log.violations).toEqual([])
    expect(await iterator.next()).toEqual({ done: true, value: undefined })
  })

  test('the source receives a signal that aborts with the caller abort, so it can cancel its query', async () => {
    const { open, log } = scriptedSource({ rows: 10, honourSignal: true, delay: () => new Promise(() => {}) })
    const controller = new AbortController()
    const iterator = iterateChunks(open, { signal: controller.signal })
    const first = iterator.next()
    await macrotask()
    controller.abort(new Error('enough'))
    await expect(first).rejects.toThrow('enough')
    expect(log.signals[0]!.aborted).toBe(true)
    await log.idle()
    await macrotask()
    expect(log.closes).toBe(1)
  })

  test('abort while the caller works on a batch ends at the next next() with the reason', async () => {
    const { open, log } = scriptedSource({ rows: 20, honourSignal: true })
    const controller = new AbortController()
    const reason = new Error('timeout')
    const seen: number[][] = []
    await expect(async () => {
      for await (const batch of iterateChunks(open, { chunkSize: 4, batchYieldSize: 4, signal: controller.signal })) {
        seen.push(batch)
        controller.abort(reason)
      }
    }).rejects.toBe(reason)
    expect(seen).toEqual([[0, 1, 2, 3]])
    await log.idle()
    await macrotask()
    expect(log.closes).toBe(1)
    expect(log.violations).toEqual([])
  })

  test('abort releases the source while the caller is still busy with a batch, without waiting for its next next()', async () => {
    const { open, log } = scriptedSource({ rows: 100, honourSignal: true })
    const controller = new AbortController()
    const iterator = iterateChunks(open, { chunkSize: 10, batchYieldSize: 10, signal: controller.signal })
    await iterator.next()
    controller.abort(new Error('client went away'))
    await log.idle()
    await macrotask()
    expect(log.closes).toBe(1) // released although the caller has not called next() or return()
    await expect(iterator.next()).rejects.toThrow('client went away')
    expect(log.closes).toBe(1)
    expect(log.violations).toEqual([])
  })

  test('an abort fired synchronously inside source.next() still closes only after that call settles', async () => {
    const controller = new AbortController()
    const { open, log } = scriptedSource({
      rows: 10,
      delay: (call) => {
        if (call === 1) controller.abort('inside next')
        return macrotask()
      },
    })
    await expect(collect(iterateChunks(open, { chunkSize: 2, prefetch: 0, signal: controller.signal }))).rejects.toBe(
      'inside next',
    )
    await log.idle()
    await macrotask()
    expect(log.closes).toBe(1)
    expect(log.violations).toEqual([])
  })

  test('abort reason wins over the error a cancelled fetch rejects with', async () => {
    const { open } = scriptedSource({ rows: 20, honourSignal: true, delay: () => new Promise(() => {}) })
    const controller = new AbortController()
    const iterator = iterateChunks(open, { signal: controller.signal })
    const first = iterator.next()
    controller.abort('caller reason')
    await expect(first).rejects.toBe('caller reason')
  })

  test('leaving early aborts the signal given to the source, and close() waits for the cancelled prefetch', async () => {
    const { open, log } = scriptedSource({
      rows: 100,
      honourSignal: true,
      delay: (call) => (call === 0 ? macrotask() : new Promise(() => {})),
    })
    for await (const batch of iterateChunks(open, { chunkSize: 10, batchYieldSize: 10, prefetch: 1 })) {
      expect(batch).toHaveLength(10)
      await macrotask()
      expect(log.active).toBe(1) // the read-ahead is in flight
      break
    }
    expect(log.signals[1]!.aborted).toBe(true)
    expect(log.closes).toBe(1)
    expect(log.violations).toEqual([])
  })

  test('removes its listener from a long-lived signal when iteration ends', async () => {
    const listeners = new Set<unknown>()
    const signal = {
      aborted: false,
      reason: undefined,
      addEventListener: (_: string, listener: unknown) => void listeners.add(listener),
      removeEventListener: (_: string, listener: unknown) => void listeners.delete(listener),
    } as unknown as AbortSignal
    const { open } = scriptedSource({ rows: 50 })
    expect(await collect(iterateChunks(open, { chunkSize: 3, batchYieldSize: 4, signal }))).toHaveLength(13)
    expect(listeners.size).toBe(0)
  })
})

describe('progress', () => {
  test('reports rows, batches, chunks, elapsed time and the cursor of the last item after each batch', async () => {
    const { open } = scriptedSource({ rows: 7, cursorOf: (item) => `after:${item}` })
    const reports: Progress[] = []
    const batches = await collect(
      iterateChunks(open, { chunkSize: 3, batchYieldSize: 2, prefetch: 0, onProgress: (p) => reports.push(p) }),
    )
    expect(batches).toHaveLength(4)
    expect(reports.map(({ elapsedMs, ...rest }) => (expect(elapsedMs).toBeGreaterThanOrEqual(0), rest))).toEqual([
      { rows: 2, batches: 1, chunks: 1, cursor: 'after:1' }, // first round trip: one batch
      { rows: 4, batches: 2, chunks: 2, cursor: 'after:3' },
      { rows: 6, batches: 3, chunks: 3, cursor: 'after:5' },
      { rows: 7, batches: 4, chunks: 3, cursor: 'after:6' },
    ])
  })

  test('reports after each item when yielding one at a time; cursor is undefined without cursorOf', async () => {
    const { open } = scriptedSource({ rows: 3 })
    const reports: Progress[] = []
    await collect(iterateChunks(open, { onProgress: (p) => reports.push(p) }))
    expect(reports.map((p) => [p.rows, p.batches, p.cursor])).toEqual([
      [1, 1, undefined],
      [2, 2, undefined],
      [3, 3, undefined],
    ])
  })

  test('an error thrown by onProgress ends iteration with that error and closes the source', async () => {
    const { open, log } = scriptedSource({ rows: 10 })
    const boom = new Error('progress sink down')
    await expect(
      collect(
        iterateChunks(open, {
          batchYieldSize: 2,
          onProgress: () => {
            throw boom
          },
        }),
      ),
    ).rejects.toBe(boom)
    expect(log.closes).toBe(1)
  })
})

describe('clean-up', () => {
  const wayOut = {
    completion: async (it: AsyncGenerator<number[], void, undefined>) => {
      for await (const _ of it);
    },
    break: async (it: AsyncGenerator<number[], void, undefined>) => {
      for await (const _ of it) break
    },
    'return()': async (it: AsyncGenerator<number[], void, undefined>) => {
      await it.next()
      await it.return()
    },
    'a throw in the loop': async (it: AsyncGenerator<number[], void, undefined>) => {
      await expect(async () => {
        for await (const _ of it) throw new Error('caller bug')
      }).rejects.toThrow('caller bug')
    },
  }

  test.each(Object.entries(wayOut))('close() runs exactly once on %s', async (_, leave) => {
    const { open, log } = scriptedSource({ rows: 30 })
    await leave(iterateChunks(open, { chunkSize: 4, batchYieldSize: 3, prefetch: 2 }))
    expect(log.closes).toBe(1)
    expect(log.violations).toEqual([])
  })

  test('close() runs exactly once when a fetch fails, and the fetch error propagates', async () => {
    const fetchError = new Error('connection reset')
    const { open, log } = scriptedSource({ rows: 30, failAtCall: 2, fetchError })
    const seen: number[][] = []
    await expect(async () => {
      for await (const batch of iterateChunks(open, { chunkSize: 4, batchYieldSize: 4 })) seen.push(batch)
    }).rejects.toBe(fetchError)
    expect(seen).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ]) // everything before the failure arrives first
    expect(log.closes).toBe(1)
  })

  test('an error from close() propagates when iteration completed normally', async () => {
    const closeError = new Error('release failed')
    const { open } = scriptedSource({ rows: 5, closeError })
    await expect(collect(iterateChunks(open, { batchYieldSize: 2 }))).rejects.toBe(closeError)
  })

  test('an error from close() propagates from break when there is no other error', async () => {
    const closeError = new Error('release failed')
    const { open } = scriptedSource({ rows: 5, closeError })
    await expect(async () => {
      for await (const _ of iterateChunks(open, { batchYieldSize: 2 })) break
    }).rejects.toBe(closeError)
  })

  test('an error from close() never hides a fetch error', async () => {
    const fetchError = new Error('query failed')
    const { open, log } = scriptedSource({
      rows: 5,
      failAtCall: 0,
      fetchError,
      closeError: new Error('release failed'),
    })
    await expect(collect(iterateChunks(open))).rejects.toBe(fetchError)
    expect(log.closes).toBe(1)
  })

  test('an error from close() never hides the caller error or the abort reason', async () => {
    const { open } = scriptedSource({ rows: 5, closeError: new Error('release failed') })
    await expect(async () => {
      for await (const _ of iterateChunks(open)) throw new Error('caller bug')
    }).rejects.toThrow('caller bug')
    const controller = new AbortController()
    await expect(async () => {
      for await (const _ of iterateChunks(open, { signal: controller.signal })) controller.abort('bye')
    }).rejects.toBe('bye')
  })

  test('a read-ahead that fails while the caller is busy is neither unhandled nor lost', async () => {
    const fetchError = new Error('read-ahead failed')
    const { open, log } = scriptedSource({ rows: 30, failAtCall: 1, fetchError })
    const iterator = iterateChunks(open, { chunkSize: 5, batchYieldSize: 5, prefetch: 1 })
    await iterator.next()
    await log.idle()
    await macrotask()
    await expect(iterator.next()).rejects.toBe(fetchError)
    expect(log.closes).toBe(1)
  })

  test('a read-ahead that fails after the caller left is swallowed, and close() still runs once', async () => {
    const gate = deferred()
    const { open, log } = scriptedSource({
      rows: 30,
      failAtCall: 1,
      fetchError: new Error('late failure'),
      delay: (call) => (call === 1 ? gate.promise : macrotask()),
    })
    const iterator = iterateChunks(open, { chunkSize: 5, batchYieldSize: 5, prefetch: 1 })
    await iterator.next()
    const leaving = iterator.return()
    await macrotask()
    expect(log.closes).toBe(0)
    gate.resolve()
    await leaving
    expect(log.closes).toBe(1)
    expect(log.violations).toEqual([])
  })

  test('return() before the first next() neither opens nor closes the source', async () => {
    const { open, log } = scriptedSource({ rows: 5 })
    const iterator = iterateChunks(open, { batchYieldSize: 2 })
    await iterator.return()
    expect([log.opens, log.closes]).toEqual([0, 0])
    expect(await iterator.next()).toEqual({ done: true, value: undefined })
  })

  test('a source whose open() resolves after an abort is closed once it arrives', async () => {
    const opening = deferred<ChunkSource<number>>()
    let closes = 0
    const controller = new AbortController()
    const iterator = iterateChunks(() => opening.promise, { signal: controller.signal })
    const first = iterator.next()
    await macrotask()
    controller.abort(new Error('gave up'))
    await expect(first).rejects.toThrow('gave up')
    let nextCalls = 0
    opening.resolve({ next: async () => (nextCalls++, { items: [1], done: true }), close: () => void closes++ })
    await macrotask()
    expect(closes).toBe(1)
    expect(nextCalls).toBe(0)
  })
})
