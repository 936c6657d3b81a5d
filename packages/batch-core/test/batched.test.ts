import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { batched } from '../src/index.js'

describe('batched', () => {
  test('splits like Python itertools.batched: full batches, then the short remainder', () => {
    expect([...batched('ABCDEFG', 3)]).toEqual([['A', 'B', 'C'], ['D', 'E', 'F'], ['G']])
    expect([...batched([1, 2, 3, 4], 2)]).toEqual([
      [1, 2],
      [3, 4],
    ])
    expect([...batched(new Set([1, 2, 3]), 5)]).toEqual([[1, 2, 3]])
  })

  test('an empty source yields nothing', () => {
    expect([...batched([], 3)]).toEqual([])
  })

  test('strict: true accepts exact multiples and throws a RangeError on a short final batch, after the full ones', () => {
    expect([...batched([1, 2, 3, 4], 2, { strict: true })]).toEqual([
      [1, 2],
      [3, 4],
    ])
    const seen: number[][] = []
    expect(() => {
      for (const batch of batched([1, 2, 3, 4, 5], 2, { strict: true })) seen.push(batch)
    }).toThrow(new RangeError('batched(): strict: true requires every batch to have 2 items; the last one has 1'))
    expect(seen).toEqual([
      [1, 2],
      [3, 4],
    ])
  })

  test.each([
    [0, RangeError, /size must be a positive integer .*; received 0/],
    [1.5, RangeError, /size must be a positive integer .*; received 1.5/],
    ['2', TypeError, /size must be a positive integer .*; received "2" \(string\)/],
  ])('rejects size %o synchronously with a %o naming size and the value', (size, ErrorClass, message) => {
    expect(() => batched([1], size as number)).toThrow(ErrorClass)
    expect(() => batched([1], size as number)).toThrow(message)
  })

  test('rejects a non-iterable source and a non-boolean strict synchronously', () => {
    expect(() => batched(42 as never, 2)).toThrow(/iterable must be an Iterable.*received 42 \(number\)/)
    expect(() => batched([1], 2, { strict: 'yes' as never })).toThrow(/strict must be true or false; received "yes"/)
    expect(() => batched([1], 2, null as never)).toThrow(/options must be an object; received null/)
  })

  test('reads the source lazily, only as far as the batches requested', () => {
    let pulled = 0
    function* naturals() {
      for (let n = 0; ; n++) {
        pulled++
        yield n
      }
    }
    const batches = batched(naturals(), 4)
    expect(pulled).toBe(0)
    expect(batches.next().value).toEqual([0, 1, 2, 3])
    expect(pulled).toBe(4)
  })

  test('leaving early closes the source iterator', () => {
    let closed = false
    function* source() {
      try {
        yield* [1, 2, 3, 4, 5]
      } finally {
        closed = true
      }
    }
    for (const batch of batched(source(), 2)) {
      expect(batch).toEqual([1, 2])
      break
    }
    expect(closed).toBe(true)
  })

  test('property: batches concatenate to the source and all but the last are full', () => {
    fc.assert(
      fc.property(fc.array(fc.anything()), fc.integer({ min: 1, max: 20 }), (items, size) => {
        const batches = [...batched(items, size)]
        expect(batches.flat(1)).toEqual(items)
        expect(batches.slice(0, -1).every((batch) => batch.length === size)).toBe(true)
        expect(batches.every((batch) => batch.length >= 1 && batch.length <= size)).toBe(true)
        expect(batches.length).toBe(Math.ceil(items.length / size))
      }),
    )
  })
})
