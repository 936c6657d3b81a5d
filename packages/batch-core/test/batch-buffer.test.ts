import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { BatchBuffer } from '../src/batch-buffer.js'

describe('BatchBuffer (internal)', () => {
  test('cuts batches across chunk boundaries in order, and the last one may be short', () => {
    const buffer = new BatchBuffer<number>()
    buffer.push([0, 1, 2])
    buffer.push([3])
    buffer.push([4, 5, 6, 7])
    expect(buffer.take(2)).toEqual([0, 1])
    expect(buffer.take(3)).toEqual([2, 3, 4])
    expect(buffer.size).toBe(3)
    expect(buffer.take(5)).toEqual([5, 6, 7])
    expect(buffer.size).toBe(0)
    expect(buffer.take(5)).toEqual([])
  })

  test('returns new arrays, never the pushed chunk itself', () => {
    const buffer = new BatchBuffer<number>()
    const chunk = [1, 2]
    buffer.push(chunk)
    const batch = buffer.take(2)
    expect(batch).toEqual(chunk)
    expect(batch).not.toBe(chunk)
  })

  test('property: any sequence of pushes and takes returns the pushed items in order, each once', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.array(fc.nat(), { maxLength: 10 }).map((chunk) => ({ push: chunk })),
            fc.nat({ max: 12 }).map((count) => ({ take: count })),
          ),
        ),
        (operations) => {
          const buffer = new BatchBuffer<number>()
          const pushed: number[] = []
          const taken: number[] = []
          for (const operation of operations) {
            if ('push' in operation) {
              buffer.push(operation.push)
              pushed.push(...operation.push)
            } else {
              const expected = Math.min(operation.take, buffer.size)
              const batch = buffer.take(operation.take)
              expect(batch).toHaveLength(expected)
              taken.push(...batch)
            }
          }
          taken.push(...buffer.take(buffer.size))
          expect(taken).toEqual(pushed)
        },
      ),
    )
  })
})
