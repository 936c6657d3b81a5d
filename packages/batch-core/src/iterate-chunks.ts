import { BatchBuffer } from './batch-buffer.js'
import type { OpenChunkSource } from './chunk-source.js'
import { ChunkReader } from './chunk-reader.js'
import { type BatchOptions, type ResolvedBatchOptions, validateBatchOptions } from './options.js'
import { describeValue } from './validate.js'

/**
 * The engine both ORM adapters share: pulls chunks of `chunkSize` items from the source that
 * `open` returns, and yields lists of `batchYieldSize` items (the last may be shorter), or
 * single items when `batchYieldSize` is not given.
 *
 * - Options are checked synchronously, here, before anything runs; `open` is called on the
 *   first `next()`, never before.
 * - Up to `prefetch` chunks are fetched ahead while the caller works; calls into the source
 *   are never concurrent.
 * - `limit` caps the total; the source is asked for `min(chunkSize, remaining)`.
 * - `signal` ends iteration at once with `signal.reason`; the source's `next()` receives a
 *   signal that aborts on caller abort or early exit, so it can cancel its query.
 * - `onProgress` runs after each batch (each item without `batchYieldSize`), before it is yielded.
 * - `close()` of the source runs exactly once however iteration ends (completion, `break`,
 *   `return()`, a throw in the loop, a fetch error, abort), after any in-flight `next()` has
 *   settled. An error from `close()` propagates only when there is no other error to report.
 *   On abort, the source is closed right away (once the in-flight `next()` settles), even while
 *   the caller is still busy with a batch; iteration rejects without waiting for that `next()`.
 *
 * @example
 * ```ts
 * import { iterateChunks, type ChunkSource } from '@batchyield/batch-core'
 *
 * const rows = Array.from({ length: 10 }, (_, id) => ({ id }))
 * const open = (): ChunkSource<{ id: number }> => {
 *   let offset = 0
 *   return {
 *     async next(size) {
 *       const items = rows.slice(offset, (offset += size))
 *       return { items, done: offset >= rows.length }
 *     },
 *     close() {},
 *   }
 * }
 *
 * for await (const batch of iterateChunks(open, { chunkSize: 4, batchYieldSize: 3 })) {
 *   console.log(batch.map((row) => row.id)) // [0,1,2] [3,4,5] [6,7,8] [9]
 * }
 * for await (const row of iterateChunks(open, { chunkSize: 4, limit: 2 })) console.log(row.id) // 0, 1
 * ```
 */
export function iterateChunks<T>(
  open: OpenChunkSource<T>,
  options: BatchOptions & { readonly batchYieldSize: number },
): AsyncGenerator<T[], void, undefined>
export function iterateChunks<T>(
  open: OpenChunkSource<T>,
  options?: BatchOptions & { readonly batchYieldSize?: undefined },
): AsyncGenerator<T, void, undefined>
export function iterateChunks<T>(
  open: OpenChunkSource<T>,
  options?: BatchOptions,
): AsyncGenerator<T | T[], void, undefined>
export function iterateChunks<T>(
  open: OpenChunkSource<T>,
  options?: BatchOptions,
): AsyncGenerator<T | T[], void, undefined> {
  if (typeof open !== 'function') {
    throw new TypeError(
      `iterateChunks(): open must be a function that returns a ChunkSource; received ${describeValue(open)} (${typeof open})`,
    )
  }
  return run(open, validateBatchOptions(options))
}

async function* run<T>(
  open: OpenChunkSource<T>,
  options: ResolvedBatchOptions,
): AsyncGenerator<T | T[], void, undefined> {
  const { signal, limit, batchYieldSize, onProgress } = options
  if (signal?.aborted) throw signal.reason
  if (limit === 0) return
  const started = performance.now()
  const reader = new ChunkReader(open, options)
  let rows = 0
  let batches = 0
  const report = (last: T): void =>
    onProgress?.({
      rows,
      batches,
      chunks: reader.chunks,
      elapsedMs: performance.now() - started,
      cursor: reader.cursorOf(last),
    })
  let completed = false
  let failed = false
  try {
    if (batchYieldSize === undefined) {
      for (let chunk = await reader.next(); chunk !== undefined; chunk = await reader.next()) {
        for (const item of chunk) {
          rows++
          batches++
          report(item)
          yield item
          if (signal?.aborted) throw signal.reason
        }
      }
    } else {
      const buffer = new BatchBuffer<T>()
      for (;;) {
        while (buffer.size < batchYieldSize) {
          const chunk = await reader.next()
          if (chunk === undefined) break
          buffer.push(chunk)
        }
        if (buffer.size === 0) break
        const batch = buffer.take(batchYieldSize)
        rows += batch.length
        batches++
        report(batch[batch.length - 1]!)
        yield batch
        if (signal?.aborted) throw signal.reason
      }
    }
    completed = true
  } catch (error) {
    failed = true
    throw error
  } finally {
    const closing = reader.close(!completed)
    if (signal?.aborted && reader.busy) {
      // Prompt exit on abort: the source closes once its in-flight next() settles; any error
      // then has nobody to go to, and the abort reason is already the answer.
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
