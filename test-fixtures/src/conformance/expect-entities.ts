/**
 * The contract every scenario checks against the reference query: the same entities (primary key and
 * hydrated values), in the same order, each once, in batches that are full except the last.
 */
import { expect } from 'vitest'
import { comparable } from '#src/conformance/comparable'
import type { FixtureOrm } from '#src/conformance/fixture-driver'

/** Drains an `aiterator` (or any async iterable), keeping what it yielded. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = []
  for await (const item of iterable) items.push(item)
  return items
}

/** `actual` equals `expected` entity by entity: same keys in the same order, none twice, same plain values. */
export function expectSameEntities(orm: FixtureOrm, actual: readonly object[], expected: readonly object[]): void {
  const keys = actual.map((entity) => orm.keyOf(entity))
  expect(keys).toEqual(expected.map((entity) => orm.keyOf(entity)))
  expect(new Set(keys).size).toBe(keys.length)
  expect(actual.map((entity) => comparable(orm.plain(entity)))).toEqual(
    expected.map((entity) => comparable(orm.plain(entity))),
  )
}

/** {@link expectSameEntities} over the concatenated batches, and every batch holds `batchYieldSize` entities but the last (1 or more). */
export function expectBatches(
  orm: FixtureOrm,
  batches: readonly (readonly object[])[],
  expected: readonly object[],
  batchYieldSize: number,
): void {
  expectSameEntities(orm, batches.flat(), expected)
  batches.forEach((batch, i) => {
    if (i < batches.length - 1) expect(batch.length).toBe(batchYieldSize)
    else expect(batch.length).toBeGreaterThanOrEqual(1)
    expect(batch.length).toBeLessThanOrEqual(batchYieldSize)
  })
}
