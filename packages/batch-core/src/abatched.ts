import {
  assertAbortSignal,
  assertBoolean,
  assertOptionsObject,
  assertPositiveInteger,
  describeValue,
} from './validate.js'
import { TIMED_OUT, waitFor } from './wait-for.js'

/**
 * Options of {@link abatched}.
 *
 * @example
 * ```ts
 * import { abatched, type AbatchedOptions } from '@batchyield/batch-core'
 * const options: AbatchedOptions = { maxWaitMs: 250, signal: AbortSignal.timeout(10_000) }
 * for await (const batch of abatched([1, 2, 3], 2, options)) console.log(batch) // [1, 2] [3]
 * ```
 */
export interface AbatchedOptions {
  /** Throw a RangeError instead of yielding a short final batch. Default false. Not with `maxWaitMs`. */
  readonly strict?: boolean
  /** Yield a partial (never empty) batch once the source has produced nothing for this many milliseconds. */
  readonly maxWaitMs?: number
  /** Ends iteration with `signal.reason` and closes the source (its `return()`). */
  readonly signal?: AbortSignal
}

/**
 * Splits an async (or sync) iterable into arrays of `size` items. The final batch may be
 * shorter (unless `strict`); an empty source yields nothing. With `maxWaitMs`, a slow source
 * still delivers what it has: a non-empty partial batch is yielded when no item arrived for
 * that long. Leaving the loop early, or aborting, closes the source by calling its `return()`.
 * Arguments are checked at the call.
 *
 * @example
 * ```ts
 * import { abatched } from '@batchyield/batch-core'
 *
 * async function* ticks() {
 *   for (let i = 0; i < 5; i++) {
 *     await new Promise((resolve) => setTimeout(resolve, i === 3 ? 100 : 1))
 *     yield i
 *   }
 * }
 * for await (const batch of abatched(ticks(), 10, { maxWaitMs: 50 })) console.log(batch) // [0, 1, 2] [3, 4]
 * ```
 */
export function abatched<T>(
  source: AsyncIterable<T> | Iterable<T>,
  size: number,
  options: AbatchedOptions = {},
): AsyncGenerator<T[], void, undefined> {
  const candidate = source as Partial<AsyncIterable<T> & Iterable<T>> | null
  const iterate: ((this: unknown) => AsyncIterator<T> | Iterator<T>) | undefined =
    candidate?.[Symbol.asyncIterator] ?? candidate?.[Symbol.iterator]
  if (typeof iterate !== 'function') {
    throw new TypeError(
      `abatched(): source must be an AsyncIterable or Iterable; received ${describeValue(source)} (${typeof source})`,
    )
  }
  assertPositiveInteger('size', size)
  assertOptionsObject('options', options)
  const { strict = false, maxWaitMs, signal } = options
  assertBoolean('strict', strict)
  if (maxWaitMs !== undefined) assertPositiveInteger('maxWaitMs', maxWaitMs)
  if (signal !== undefined) assertAbortSignal('signal', signal)
  if (strict && maxWaitMs !== undefined) {
    throw new TypeError(
      `abatched(): strict: true cannot be combined with maxWaitMs (${maxWaitMs}), which yields short batches by design`,
    )
  }
  return run(() => iterate.call(source), size, strict, maxWaitMs, signal)
}

async function* run<T>(
  start: () => AsyncIterator<T> | Iterator<T>,
  size: number,
  strict: boolean,
  maxWaitMs: number | undefined,
  signal: AbortSignal | undefined,
): AsyncGenerator<T[], void, undefined> {
  const iterator = start()
  let sourceDone = false // finished or threw: then it must not be closed
  const step = async (): Promise<IteratorResult<T>> => {
    try {
      const result = await iterator.next()
      if (result.done) sourceDone = true
      return result
    } catch (error) {
      sourceDone = true
      throw error
    }
  }
  let pending: Promise<IteratorResult<T>> | undefined // a step still running after a timed flush
  let batch: T[] = []
  let failed = false
  try {
    for (;;) {
      if (signal?.aborted) throw signal.reason
      pending ??= step()
      const outcome = await waitFor(pending, signal, batch.length > 0 ? maxWaitMs : undefined)
      if (outcome === TIMED_OUT) {
        const partial = batch
        batch = []
        yield partial
      } else {
        pending = undefined
        if (outcome.done) break
        batch.push(outcome.value)
        if (batch.length === size) {
          const full = batch
          batch = []
          yield full
        }
      }
    }
    if (batch.length > 0) {
      if (strict)
        throw new RangeError(
          `abatched(): strict: true requires every batch to have ${size} items; the last one has ${batch.length}`,
        )
      yield batch
      if (signal?.aborted) throw signal.reason
    }
  } catch (error) {
    failed = true
    throw error
  } finally {
    if (!sourceDone) {
      const closing = (async () => {
        await iterator.return?.()
      })()
      if (pending) {
        // The source is still inside next(): ask it to stop, but don't wait for that step.
        closing.catch(() => {})
      } else {
        try {
          await closing
        } catch (closeError) {
          if (!failed) throw closeError // eslint-disable-line no-unsafe-finally
        }
      }
    }
  }
}
