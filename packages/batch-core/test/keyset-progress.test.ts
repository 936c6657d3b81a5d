import { describe, expect, it } from 'vitest'
import { KeysetProgress, KeysetProgressError } from '../src/index.js'

describe('KeysetProgress', () => {
  it('accepts chunks that each start after the previous one', () => {
    const progress = new KeysetProgress('Book')
    expect(() => {
      progress.check([1, 2, 3])
      progress.check([4, 5, 6])
      progress.check([])
      progress.check([7])
    }).not.toThrow()
  })

  it('throws KeysetProgressError when a chunk repeats a row of the previous chunk (a seek that did not advance)', () => {
    const progress = new KeysetProgress('Book ordered by price')
    progress.check([1, 2, 3])
    expect(() => progress.check([3, 4])).toThrow(KeysetProgressError)
    const again = new KeysetProgress('Book ordered by price')
    again.check([1])
    expect(() => again.check([1])).toThrow(
      /did not advance on Book ordered by price: chunk 2 returned the row 1 that chunk 1 already returned/,
    )
  })

  it('compares composite, byte and bigint identities by value', () => {
    const progress = new KeysetProgress('OrderLine')
    progress.check([
      [1, 'a'],
      [1, 'b'],
    ])
    expect(() => progress.check([[1, 'b']])).toThrow(KeysetProgressError)
    const bytes = new KeysetProgress('Blob')
    bytes.check([Buffer.from([1, 2])])
    expect(() => bytes.check([new Uint8Array([1, 2])])).toThrow(KeysetProgressError)
    const big = new KeysetProgress('Big')
    big.check([2n ** 64n])
    expect(() => big.check([2n ** 64n])).toThrow(KeysetProgressError)
  })

  it('only compares with the chunk just before (rows of older chunks cannot come back in a total order)', () => {
    const progress = new KeysetProgress('Book')
    progress.check([1, 2])
    progress.check([3, 4])
    expect(() => progress.check([1, 5])).not.toThrow()
  })

  it("compares the chunk's first row: a row another session moved ahead comes back with other key values and is no repeat", () => {
    const progress = new KeysetProgress('Book ordered by rating, id')
    progress.check([
      [1, 10],
      [2, 11],
      [3, 12],
    ])
    // row 11 moved from rating 2 to rating 5: yielded again, as the concurrency rules say
    expect(() =>
      progress.check([
        [4, 13],
        [5, 11],
      ]),
    ).not.toThrow()
    expect(() => progress.check([[5, 11]])).toThrow(KeysetProgressError)
  })

  it('is exported as an Error subclass with its own name', () => {
    const error = new KeysetProgressError('x')
    expect(error).toBeInstanceOf(Error)
    expect(error.name).toBe('KeysetProgressError')
  })
})

describe('KeysetProgressError names the repeated row by its key values', () => {
  it('one key, several keys, bytes and bigints', () => {
    const named = (first: unknown[], second: unknown[]) => {
      const progress = new KeysetProgress('T')
      progress.check(first)
      try {
        progress.check(second)
      } catch (error) {
        return (error as Error).message
      }
      throw new Error('expected a KeysetProgressError')
    }
    expect(named([1], [1])).toContain('returned the row 1 that')
    expect(named([['abc', 2]], [['abc', 2]])).toContain('returned the row ("abc", 2) that')
    expect(named([[Buffer.from([1, 255]), 5n]], [[Buffer.from([1, 255]), 5n]])).toContain(
      'returned the row (0x01ff, 5n) that',
    )
  })
})
