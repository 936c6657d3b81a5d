import { expect } from 'vitest'

/** Runs an iterator to the end and returns what it yielded. */
export async function collect<T>(iterator: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of iterator) out.push(item)
  return out
}

/**
 * The contract every shape must meet: the batches, concatenated, are deep-equal to `expected`
 * (what getMany() returned), in the same order; no entity twice; every batch holds
 * `batchYieldSize` entities except the last, which holds at least one.
 */
export function expectBatches<T>(
  batches: T[][],
  expected: T[],
  batchYieldSize: number,
  idOf: (entity: T) => unknown,
): void {
  const flat = batches.flat()
  expect(flat).toStrictEqual(expected)
  const ids = flat.map((e) => JSON.stringify(idOf(e)))
  expect(new Set(ids).size).toBe(ids.length)
  batches.forEach((batch, i) => {
    if (i < batches.length - 1) expect(batch.length).toBe(batchYieldSize)
    else expect(batch.length).toBeGreaterThanOrEqual(1)
    expect(batch.length).toBeLessThanOrEqual(batchYieldSize)
  })
}
