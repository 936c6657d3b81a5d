import { describe, expect, it } from 'vitest'
import { createRandom } from '@batchyield/test-fixtures'

const draw = (seed: number, stream = 0, n = 50): number[] => {
  const random = createRandom(seed, stream)
  return Array.from({ length: n }, () => random.next())
}

describe('createRandom', () => {
  it('gives the same sequence for the same seed and stream', () => {
    expect(draw(7)).toEqual(draw(7))
    expect(draw(7, 3)).toEqual(draw(7, 3))
  })

  it('gives different sequences for different seeds or streams', () => {
    expect(draw(7)).not.toEqual(draw(8))
    expect(draw(7, 1)).not.toEqual(draw(7, 2))
  })

  it('draws floats in [0, 1) and integers within inclusive bounds, reaching both ends', () => {
    const random = createRandom(1)
    const ints = new Set<number>()
    for (let i = 0; i < 2000; i++) {
      const x = random.next()
      expect(x).toBeGreaterThanOrEqual(0)
      expect(x).toBeLessThan(1)
      ints.add(random.int(1, 5))
    }
    expect([...ints].sort()).toEqual([1, 2, 3, 4, 5])
  })

  it('picks only from the list and rejects an empty one', () => {
    const random = createRandom(2)
    const picked = new Set(Array.from({ length: 200 }, () => random.pick(['a', 'b', 'c'])))
    expect([...picked].sort()).toEqual(['a', 'b', 'c'])
    expect(() => random.pick([])).toThrow(RangeError)
  })

  it('rejects a seed that is not a safe integer', () => {
    expect(() => createRandom(1.5)).toThrow(/seed must be a safe integer, received 1\.5/)
    expect(() => createRandom(Number.NaN)).toThrow(RangeError)
  })
})
