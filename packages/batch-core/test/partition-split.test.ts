import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { partitionSampleSize, samplePercent, splitPoints } from '../src/partition-split.js'

describe('splitPoints: the cuts for n partitions from ordered samples', () => {
  it('cuts at evenly spaced samples', () => {
    expect(splitPoints([1, 2, 3, 4, 5, 6, 7, 8], 4)).toEqual([3, 5, 7])
    expect(
      splitPoints(
        Array.from({ length: 1000 }, (_, i) => i),
        10,
      ),
    ).toEqual([100, 200, 300, 400, 500, 600, 700, 800, 900])
  })

  it('gives fewer cuts when there are fewer samples than partitions, none for one partition or no samples', () => {
    expect(splitPoints([1, 2], 4)).toEqual([1, 2])
    expect(splitPoints([1, 2, 3], 1)).toEqual([])
    expect(splitPoints([], 8)).toEqual([])
  })

  it('property: at most n - 1 cuts, strictly increasing ranks, and with as many samples as partitions exactly n - 1', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 1, max: 40 }), (length, count) => {
        const samples = Array.from({ length }, (_, i) => i)
        const cuts = splitPoints(samples, count)
        const increasing = cuts.every((cut, i) => i === 0 || cut > cuts[i - 1]!)
        const expected = length >= count ? count - 1 : Math.min(length, count - 1)
        return increasing && cuts.length <= count - 1 && cuts.length === expected
      }),
    )
  })

  it('property: with many samples each partition holds about the same share of them', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 5000 }), fc.integer({ min: 1, max: 50 }), (length, count) => {
        fc.pre(length >= count * 10)
        const cuts = [
          0,
          ...splitPoints(
            Array.from({ length }, (_, i) => i),
            count,
          ),
          length,
        ]
        const shares = cuts.slice(1).map((cut, i) => cut - cuts[i]!)
        return Math.max(...shares) - Math.min(...shares) <= 1
      }),
    )
  })
})

describe('samplePercent: the share of pages a TABLESAMPLE reads', () => {
  it('reads enough pages for the target rows and at least the target in pages (rows of a page are neighbours)', () => {
    expect(samplePercent({ rows: 1_000_000, pages: 27_000 }, 1_000)).toBeCloseTo(100 * (1_000 / 27_000))
    expect(samplePercent({ rows: 1_000_000, pages: 1_000_000 }, 1_000)).toBeCloseTo(0.1)
    expect(samplePercent({ rows: 10_000, pages: 1_000_000 }, 1_000)).toBeCloseTo(10)
  })

  it('reads everything when the table is small or the estimates are unknown', () => {
    expect(samplePercent({ rows: 500, pages: 10 }, 1_000)).toBe(100)
    expect(samplePercent({ rows: Number.NaN, pages: Number.NaN }, 1_000)).toBe(100)
    expect(samplePercent({ rows: 5_000_000, pages: Number.NaN }, 1_000)).toBeCloseTo(0.02)
  })

  it('partitionSampleSize: 100 per partition, 1,000 to 100,000', () => {
    expect([1, 4, 10, 64, 999, 5000].map(partitionSampleSize)).toEqual([1000, 1000, 1000, 6400, 99_900, 100_000])
  })
})
