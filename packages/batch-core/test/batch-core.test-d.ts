import { describe, expectTypeOf, test } from 'vitest'
import {
  abatched,
  batched,
  type BatchOptions,
  type ChunkSource,
  iterateChunks,
  type Progress,
  validateBatchOptions,
} from '../src/index.js'

interface User {
  readonly id: number
}
const open = (): ChunkSource<User> => ({ next: async () => ({ items: [], done: true }), close() {} })

describe('iterateChunks types', () => {
  test('with batchYieldSize it yields lists of the source item type', () => {
    expectTypeOf(iterateChunks(open, { batchYieldSize: 500 })).toEqualTypeOf<AsyncGenerator<User[], void, undefined>>()
    expectTypeOf(iterateChunks(open, { batchYieldSize: 500, chunkSize: 2000, prefetch: 2, limit: 10 })).toEqualTypeOf<
      AsyncGenerator<User[], void, undefined>
    >()
  })

  test('without batchYieldSize it yields single items', () => {
    expectTypeOf(iterateChunks(open)).toEqualTypeOf<AsyncGenerator<User, void, undefined>>()
    expectTypeOf(iterateChunks(open, { chunkSize: 100 })).toEqualTypeOf<AsyncGenerator<User, void, undefined>>()
  })

  test('with options typed as plain BatchOptions it yields either', () => {
    const options: BatchOptions = {}
    expectTypeOf(iterateChunks(open, options)).toEqualTypeOf<AsyncGenerator<User | User[], void, undefined>>()
  })

  test('the item type is inferred from an async open()', () => {
    expectTypeOf(iterateChunks(async () => open(), { batchYieldSize: 1 })).toEqualTypeOf<
      AsyncGenerator<User[], void, undefined>
    >()
  })

  test('onProgress receives Progress; options are type-checked', () => {
    iterateChunks(open, { onProgress: (progress) => expectTypeOf(progress).toEqualTypeOf<Progress>() })
    // @ts-expect-error chunkSize is a number
    iterateChunks(open, { chunkSize: '10' })
    // @ts-expect-error open must be a function returning a ChunkSource
    iterateChunks({ next: async () => ({ items: [], done: true }), close() {} })
  })

  test('validateBatchOptions returns the resolved options', () => {
    expectTypeOf(validateBatchOptions({}).chunkSize).toEqualTypeOf<number>()
    expectTypeOf(validateBatchOptions({}).batchYieldSize).toEqualTypeOf<number | undefined>()
  })
})

describe('batched / abatched types', () => {
  test('batched yields arrays of the iterable item type', () => {
    expectTypeOf(batched([1, 2, 3], 2)).toEqualTypeOf<Generator<number[], void, undefined>>()
    expectTypeOf(batched('abc', 2)).toEqualTypeOf<Generator<string[], void, undefined>>()
  })

  test('abatched accepts async and sync iterables and yields arrays of the item type', () => {
    async function* users(): AsyncGenerator<User> {}
    expectTypeOf(abatched(users(), 10)).toEqualTypeOf<AsyncGenerator<User[], void, undefined>>()
    expectTypeOf(abatched(new Set([1n]), 10, { maxWaitMs: 50 })).toEqualTypeOf<
      AsyncGenerator<bigint[], void, undefined>
    >()
    // @ts-expect-error strict is a boolean
    abatched([1], 2, { strict: 'yes' })
  })
})
