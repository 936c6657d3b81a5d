import fc from 'fast-check'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { abatched } from '../src/index.js'
import { collect, deferred, macrotask } from './scripted-source.js'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

const unhandled: unknown[] = []
const onUnhandled = (reason: unknown): void => void unhandled.push(reason)
beforeEach(() => {
  unhandled.length = 0
  process.on('unhandledRejection', onUnhandled)
})
afterEach(async () => {
  await sleep(5)
  process.off('unhandledRejection', onUnhandled)
  expect(unhandled, 'no promise rejection may go unhandled').toEqual([])
})

/** An async source that records whether it was closed (its finally ran). */
function tracked<T>(items: readonly T[], pauseBefore: (index: number) => Promise<void> = async () => {}) {
  const state = { closed: false, pulled: 0 }
  async function* source() {
    try {
      for (const [index, item] of items.entries()) {
        await pauseBefore(index)
        state.pulled++
        yield item
      }
    } finally {
      state.closed = true
    }
  }
  return { source: source(), state }
}

describe('abatched', () => {
  test('groups an async source into batches; the last may be shorter', async () => {
    const { source } = tracked([1, 2, 3, 4, 5])
    expect(await collect(abatched(source, 2))).toEqual([[1, 2], [3, 4], [5]])
  })

  test('accepts synchronous iterables too', async () => {
    expect(await collect(abatched([1, 2, 3], 2))).toEqual([[1, 2], [3]])
    expect(await collect(abatched(new Set('abc'), 3))).toEqual([['a', 'b', 'c']])
  })

  test('an empty source yields nothing', async () => {
    expect(await collect(abatched([], 2))).toEqual([])
    expect(await collect(abatched(tracked([]).source, 2))).toEqual([])
  })

  test('strict: true throws a RangeError on a short final batch, after the full ones', async () => {
    expect(await collect(abatched([1, 2, 3, 4], 2, { strict: true }))).toEqual([
      [1, 2],
      [3, 4],
    ])
    const seen: number[][] = []
    await expect(async () => {
      for await (const batch of abatched([1, 2, 3], 2, { strict: true })) seen.push(batch)
    }).rejects.toThrow(
      new RangeError('abatched(): strict: true requires every batch to have 2 items; the last one has 1'),
    )
    expect(seen).toEqual([[1, 2]])
  })

  test('checks its arguments synchronously at the call, naming the option and the value', () => {
    expect(() => abatched(42 as never, 2)).toThrow(
      /source must be an AsyncIterable or Iterable; received 42 \(number\)/,
    )
    expect(() => abatched([1], 0)).toThrow(RangeError)
    expect(() => abatched([1], 0)).toThrow(/size must be a positive integer .*received 0/)
    expect(() => abatched([1], 2, { maxWaitMs: -1 })).toThrow(/maxWaitMs must be a positive integer .*received -1/)
    expect(() => abatched([1], 2, { maxWaitMs: '5' as never })).toThrow(TypeError)
    expect(() => abatched([1], 2, { strict: 1 as never })).toThrow(/strict must be true or false; received 1/)
    expect(() => abatched([1], 2, { signal: 'stop' as never })).toThrow(
      /signal must be an AbortSignal .*received "stop"/,
    )
    expect(() => abatched([1], 2, { strict: true, maxWaitMs: 10 })).toThrow(
      /strict: true cannot be combined with maxWaitMs/,
    )
  })

  test('does not read the source before the first next()', async () => {
    const { source, state } = tracked([1, 2, 3])
    const batches = abatched(source, 2)
    await macrotask()
    expect(state.pulled).toBe(0)
    expect((await batches.next()).value).toEqual([1, 2])
    await batches.return()
  })

  test('maxWaitMs yields a partial batch when the source goes quiet, and loses nothing that arrives later', async () => {
    const { source } = tracked([0, 1, 2, 3, 4], (index) => (index === 3 ? sleep(300) : Promise.resolve()))
    expect(await collect(abatched(source, 10, { maxWaitMs: 30 }))).toEqual([
      [0, 1, 2],
      [3, 4],
    ])
  })

  test('maxWaitMs never yields an empty batch while the source is quiet from the start', async () => {
    const { source } = tracked([0, 1], (index) => (index === 0 ? sleep(150) : Promise.resolve()))
    expect(await collect(abatched(source, 5, { maxWaitMs: 10 }))).toEqual([[0, 1]])
  })

  test('maxWaitMs does not delay full batches', async () => {
    const { source } = tracked([0, 1, 2, 3])
    expect(await collect(abatched(source, 2, { maxWaitMs: 60_000 }))).toEqual([
      [0, 1],
      [2, 3],
    ])
  })

  test('break and a throw in the loop close the source', async () => {
    const first = tracked([1, 2, 3, 4, 5])
    for await (const _ of abatched(first.source, 2)) break
    expect(first.state.closed).toBe(true)
    const second = tracked([1, 2, 3, 4, 5])
    await expect(async () => {
      for await (const _ of abatched(second.source, 2)) throw new Error('caller bug')
    }).rejects.toThrow('caller bug')
    expect(second.state.closed).toBe(true)
  })

  test('an already-aborted signal rejects the first next() with its reason and closes the source', async () => {
    let returned = 0
    const source = {
      [Symbol.iterator]: () => ({
        next: () => ({ done: false, value: 1 }),
        return: () => (returned++, { done: true, value: undefined }),
      }),
    }
    const reason = new Error('stop')
    await expect(abatched(source, 2, { signal: AbortSignal.abort(reason) }).next()).rejects.toBe(reason)
    expect(returned).toBe(1)
  })

  test('abort while waiting on a slow source rejects at once with the reason and asks the source to stop', async () => {
    const never = deferred<IteratorResult<number>>()
    let returned = 0
    const source = {
      [Symbol.asyncIterator]: () => ({
        next: () => never.promise,
        return: async () => (returned++, { done: true as const, value: undefined }),
      }),
    }
    const controller = new AbortController()
    const first = abatched(source, 2, { signal: controller.signal }).next()
    await macrotask()
    controller.abort('user left')
    await expect(first).rejects.toBe('user left')
    expect(returned).toBe(1)
  })

  test('abort while the caller works ends at the next next() and closes the source', async () => {
    const { source, state } = tracked([1, 2, 3, 4, 5, 6])
    const controller = new AbortController()
    const seen: number[][] = []
    await expect(async () => {
      for await (const batch of abatched(source, 2, { signal: controller.signal })) {
        seen.push(batch)
        controller.abort('enough')
      }
    }).rejects.toBe('enough')
    expect(seen).toEqual([[1, 2]])
    expect(state.closed).toBe(true)
  })

  test('an error from the source propagates without calling its return()', async () => {
    let returned = 0
    const boom = new Error('source failed')
    let calls = 0
    const source: AsyncIterable<number> = {
      [Symbol.asyncIterator]: () => ({
        next: async (): Promise<IteratorResult<number>> =>
          calls++ < 3 ? { done: false, value: calls } : Promise.reject(boom),
        return: async () => (returned++, { done: true as const, value: undefined }),
      }),
    }
    const seen: number[][] = []
    await expect(async () => {
      for await (const batch of abatched(source, 2)) seen.push(batch)
    }).rejects.toBe(boom)
    expect(seen).toEqual([[1, 2]])
    expect(returned).toBe(0)
  })

  test('an error from the source return() propagates on break, but never hides an abort reason', async () => {
    const closeError = new Error('return failed')
    const source = () => ({
      [Symbol.iterator]: () => ({
        next: () => ({ done: false, value: 1 }),
        return: (): IteratorResult<number> => {
          throw closeError
        },
      }),
    })
    await expect(async () => {
      for await (const _ of abatched(source(), 2)) break
    }).rejects.toBe(closeError)
    const controller = new AbortController()
    await expect(async () => {
      for await (const _ of abatched(source(), 2, { signal: controller.signal })) controller.abort('reason')
    }).rejects.toBe('reason')
  })

  test('a source step that fails after a timed flush, once the caller has left, is not an unhandled rejection', async () => {
    const late = deferred<IteratorResult<number>>()
    let calls = 0
    const source = {
      [Symbol.asyncIterator]: () => ({
        next: () => (calls++ === 0 ? Promise.resolve({ done: false, value: 1 }) : late.promise),
      }),
    }
    for await (const batch of abatched(source, 5, { maxWaitMs: 10 })) {
      expect(batch).toEqual([1])
      break
    }
    late.reject(new Error('late failure'))
  })

  test(
    'property: with maxWaitMs and an irregular source, batches still concatenate to the source and are never empty',
    { timeout: 60_000 },
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.nat({ max: 6 }), { maxLength: 25 }),
          fc.integer({ min: 1, max: 6 }),
          fc.integer({ min: 1, max: 4 }),
          async (pauses, size, maxWaitMs) => {
            const items = pauses.map((_, index) => index)
            const { source } = tracked(items, (index) => sleep(pauses[index]!))
            const batches = await collect(abatched(source, size, { maxWaitMs }))
            expect(batches.flat()).toEqual(items)
            expect(batches.every((batch) => batch.length >= 1 && batch.length <= size)).toBe(true)
          },
        ),
        { numRuns: 40 },
      )
    },
  )

  test('property: the source is closed exactly once on break, throw or abort, and never after it failed or finished', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 1, max: 5 }),
        fc.constantFrom('complete', 'break', 'throw', 'abort', 'source error'),
        fc.nat({ max: 6 }),
        async (length, size, exit, at) => {
          let returns = 0
          let index = 0
          const failure = new Error('source failed')
          const source: AsyncIterable<number> = {
            [Symbol.asyncIterator]: () => ({
              next: async (): Promise<IteratorResult<number>> => {
                if (exit === 'source error' && index === at) throw failure
                return index < length ? { done: false, value: index++ } : { done: true, value: undefined }
              },
              return: async () => (returns++, { done: true as const, value: undefined }),
            }),
          }
          const controller = new AbortController()
          let batchIndex = 0
          let outcome: unknown = 'none'
          try {
            for await (const _ of abatched(source, size, { signal: controller.signal })) {
              if (batchIndex === at && exit === 'break') break
              if (batchIndex === at && exit === 'throw') throw new Error('caller')
              if (batchIndex === at && exit === 'abort') controller.abort('abort')
              batchIndex++
            }
          } catch (error) {
            outcome = error
          }
          const batches = Math.ceil(length / size)
          const leftEarly = (exit === 'break' || exit === 'throw' || exit === 'abort') && at < batches
          // A short final batch is only yielded once the source has finished: nothing left to close.
          const sourceStillOpen = !(at === batches - 1 && length % size !== 0)
          expect(returns).toBe(leftEarly && sourceStillOpen ? 1 : 0)
          if (exit === 'abort' && at < batches) expect(outcome).toBe('abort')
          if (exit === 'source error' && at <= length) expect(outcome).toBe(failure)
        },
      ),
    )
  })

  test('property: batches concatenate to the source and all but the last are full, sync or async', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer()),
        fc.integer({ min: 1, max: 12 }),
        fc.boolean(),
        async (items, size, async) => {
          const batches = await collect(abatched(async ? tracked(items).source : items, size))
          expect(batches.flat()).toEqual(items)
          expect(batches.slice(0, -1).every((batch) => batch.length === size)).toBe(true)
          expect(batches.every((batch) => batch.length >= 1 && batch.length <= size)).toBe(true)
        },
      ),
    )
  })
})
