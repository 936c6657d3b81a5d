import { assertBoolean, assertOptionsObject, assertPositiveInteger, describeValue } from './validate.js'

/**
 * Options of {@link batched}.
 *
 * @example
 * ```ts
 * import { batched, type BatchedOptions } from '@batchyield/batch-core'
 * const options: BatchedOptions = { strict: true }
 * console.log([...batched([1, 2, 3, 4], 2, options)]) // [[1, 2], [3, 4]]
 * ```
 */
export interface BatchedOptions {
  /** Throw a RangeError instead of yielding a short final batch. Default false. */
  readonly strict?: boolean
}

/**
 * Splits a synchronous iterable into arrays of `size` items, like Python's `itertools.batched`
 * and the TC39 iterator-chunking proposal's `chunks(size)`: the final batch may be shorter
 * (unless `strict`), an empty source yields nothing, and batches never share items.
 * Arguments are checked at the call; the source is read only as batches are requested.
 *
 * @example
 * ```ts
 * import { batched } from '@batchyield/batch-core'
 *
 * console.log([...batched('ABCDEFG', 3)])                 // [['A','B','C'], ['D','E','F'], ['G']]
 * console.log([...batched([1, 2, 3, 4], 2, { strict: true })]) // [[1, 2], [3, 4]]
 * ```
 */
export function batched<T>(
  iterable: Iterable<T>,
  size: number,
  options: BatchedOptions = {},
): Generator<T[], void, undefined> {
  if (typeof (iterable as Partial<Iterable<T>> | null)?.[Symbol.iterator] !== 'function') {
    throw new TypeError(
      `batched(): iterable must be an Iterable (array, Set, generator, ...); received ${describeValue(iterable)} (${typeof iterable})`,
    )
  }
  assertPositiveInteger('size', size)
  assertOptionsObject('options', options)
  const { strict = false } = options
  assertBoolean('strict', strict)
  return run(iterable, size, strict)
}

function* run<T>(iterable: Iterable<T>, size: number, strict: boolean): Generator<T[], void, undefined> {
  let batch: T[] = []
  for (const item of iterable) {
    batch.push(item)
    if (batch.length === size) {
      yield batch
      batch = []
    }
  }
  if (batch.length === 0) return
  if (strict)
    throw new RangeError(
      `batched(): strict: true requires every batch to have ${size} items; the last one has ${batch.length}`,
    )
  yield batch
}
