import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { iterateChunks } from '../src/index.js'
import { macrotask, range, type Script, scriptedSource } from './scripted-source.js'

const timing = fc.constantFrom('resolved', 'microtask', 'macrotask')
const wait = (kind: string): Promise<void> =>
  kind === 'macrotask' ? macrotask() : kind === 'microtask' ? Promise.resolve().then(() => {}) : Promise.resolve()

/** Sizes and source shapes: short chunks before the end, done flagged or not, any timing. */
const shapes = fc.record({
  rows: fc.nat({ max: 120 }),
  chunkSize: fc.integer({ min: 1, max: 40 }),
  batchYieldSize: fc.option(fc.integer({ min: 1, max: 40 }), { nil: undefined }),
  prefetch: fc.nat({ max: 4 }),
  limit: fc.option(fc.nat({ max: 150 }), { nil: undefined }),
  done: fc.constantFrom('eager' as const, 'lazy' as const),
  shortChunks: fc.option(fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 8 }), { nil: undefined }),
  fetchTiming: timing,
  callerTiming: timing,
})

type Shape = typeof shapes extends fc.Arbitrary<infer S> ? S : never

function scriptOf(shape: Shape): Script {
  const { rows, done, shortChunks, fetchTiming } = shape
  return {
    rows,
    done,
    delay: () => wait(fetchTiming),
    ...(shortChunks && {
      chunkLength: (size: number, call: number) => Math.min(size, shortChunks[call % shortChunks.length]!),
    }),
  }
}

describe('iterateChunks properties', () => {
  test(
    'the batches, concatenated, are exactly the source (up to limit); each batch is full except the last',
    { timeout: 60_000 },
    async () => {
      await fc.assert(
        fc.asyncProperty(shapes, async (shape) => {
          const { open, log } = scriptedSource(scriptOf(shape))
          const { chunkSize, batchYieldSize, prefetch, limit } = shape
          const yielded: (number | number[])[] = []
          for await (const value of iterateChunks(open, { chunkSize, batchYieldSize, prefetch, limit })) {
            yielded.push(value)
            await wait(shape.callerTiming)
          }
          const expected = range(0, Math.min(shape.rows, limit ?? Number.POSITIVE_INFINITY))
          expect(yielded.flat()).toEqual(expected)
          if (batchYieldSize !== undefined) {
            const sizes = yielded.map((batch) => (batch as number[]).length)
            expect(sizes.slice(0, -1).every((size) => size === batchYieldSize)).toBe(true)
            expect(sizes.every((size) => size >= 1 && size <= batchYieldSize)).toBe(true)
          } else {
            expect(yielded.every((value) => typeof value === 'number')).toBe(true)
          }
          expect(log.requests.every((size) => size >= 1 && size <= chunkSize)).toBe(true)
          expect(log.delivered).toBeLessThanOrEqual(limit ?? Number.POSITIVE_INFINITY)
          expect(log.closes).toBe(limit === 0 ? 0 : 1)
          expect(log.violations).toEqual([])
        }),
        { numRuns: 300 },
      )
    },
  )

  const exits = fc.oneof(
    fc.constant({ kind: 'complete' as const }),
    fc.record({ kind: fc.constant('break' as const), at: fc.nat({ max: 30 }) }),
    fc.record({ kind: fc.constant('throw' as const), at: fc.nat({ max: 30 }) }),
    fc.record({ kind: fc.constant('fetch error' as const), call: fc.nat({ max: 12 }) }),
    fc.record({ kind: fc.constant('abort while caller works' as const), at: fc.nat({ max: 30 }) }),
    fc.record({
      kind: fc.constant('abort during fetch' as const),
      call: fc.nat({ max: 12 }),
      honourSignal: fc.boolean(),
    }),
  )

  test(
    'close() runs exactly once, never during next(), on every way out; the right error wins',
    { timeout: 60_000 },
    async () => {
      await fc.assert(
        fc.asyncProperty(shapes, exits, fc.boolean(), async (shape, exit, closeThrows) => {
          const controller = new AbortController()
          const reason = new Error('aborted by caller')
          const fetchError = new Error('fetch failed')
          const callerError = new Error('caller failed')
          const closeError = new Error('close failed')
          let aborted = false
          const base = scriptOf(shape)
          const { open, log } = scriptedSource({
            ...base,
            ...(closeThrows && { closeError }),
            ...(exit.kind === 'fetch error' && { failAtCall: exit.call, fetchError }),
            ...(exit.kind === 'abort during fetch' && {
              honourSignal: exit.honourSignal,
              delay: (call: number, signal: AbortSignal) => {
                if (call === exit.call) {
                  aborted = true
                  controller.abort(reason)
                }
                return base.delay!(call, signal)
              },
            }),
          })
          const { chunkSize, batchYieldSize, prefetch, limit } = shape
          let outcome: unknown = 'no error'
          let index = 0
          try {
            for await (const _ of iterateChunks(open, {
              chunkSize,
              batchYieldSize,
              prefetch,
              limit,
              signal: controller.signal,
            })) {
              await wait(shape.callerTiming)
              if (exit.kind === 'break' && index === exit.at) break
              if (exit.kind === 'throw' && index === exit.at) throw callerError
              if (exit.kind === 'abort while caller works' && index === exit.at) {
                aborted = true
                controller.abort(reason)
              }
              index++
            }
          } catch (error) {
            outcome = error
          }
          await log.idle()
          await macrotask()

          const threw = exit.kind === 'throw' && outcome === callerError
          const failedFetch = exit.kind === 'fetch error' && log.requests.length > exit.call
          const expected = aborted
            ? reason
            : threw
              ? callerError
              : failedFetch
                ? fetchError
                : closeThrows && log.opens > 0
                  ? closeError
                  : 'no error'
          expect(outcome).toBe(expected)
          expect(log.closes).toBe(log.opens)
          expect(log.opens).toBe(limit === 0 ? 0 : 1)
          expect(log.violations).toEqual([])
        }),
        { numRuns: 400 },
      )
    },
  )
})
