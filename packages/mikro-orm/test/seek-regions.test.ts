import type { SortKey } from '@batchyield/batch-core'
import { describe, expect, it } from 'vitest'
import { seekRegions } from '../src/seek-filter.js'

const id: SortKey = { field: 'id', direction: 'asc', nulls: 'last', nullable: false }
const rating: SortKey = { field: 'rating', direction: 'desc', nulls: 'first', nullable: false }
const publishedAt = (direction: 'asc' | 'desc', nulls: 'first' | 'last'): SortKey => ({
  field: 'publishedAt',
  direction,
  nulls,
  nullable: true,
})
const at = '2024-05-01 12:00:00.123456'

describe('seekRegions: the index regions after the last row, read in turn', () => {
  it('a non-nullable first key: one region, the seek ANDed with a bound on that key (an index range start)', () => {
    expect(seekRegions([rating, { ...id, direction: 'desc' }], [3, 41])).toEqual([
      {
        filter: {
          $and: [
            { rating: { $lte: 3 } },
            { $or: [{ rating: { $lt: 3 } }, { $and: [{ rating: { $eq: 3 } }, { id: { $lt: 41 } }] }] },
          ],
        },
        firstKeyIsNull: false,
      },
    ])
  })

  it('a nullable first key with NULLs last, positioned on a value: the rest of the values, then all the NULLs', () => {
    expect(seekRegions([publishedAt('asc', 'last'), id], [at, 41])).toEqual([
      {
        filter: {
          $and: [
            { publishedAt: { $gte: at } },
            { $or: [{ publishedAt: { $gt: at } }, { $and: [{ publishedAt: { $eq: at } }, { id: { $gt: 41 } }] }] },
          ],
        },
        firstKeyIsNull: false,
      },
      { filter: { publishedAt: null }, firstKeyIsNull: true },
    ])
  })

  it('NULLs first, positioned on a value: only the rest of the values (the NULLs came before)', () => {
    expect(seekRegions([publishedAt('desc', 'first'), { ...id, direction: 'desc' }], [at, 41])).toHaveLength(1)
  })

  it('NULLs first, positioned on a NULL: the rest of the NULLs by the next keys, then all the values', () => {
    expect(seekRegions([publishedAt('desc', 'first'), { ...id, direction: 'desc' }], [null, 41])).toEqual([
      { filter: { $and: [{ publishedAt: null }, { id: { $lt: 41 } }] }, firstKeyIsNull: true },
      { filter: { publishedAt: { $ne: null } }, firstKeyIsNull: false },
    ])
  })

  it('NULLs last, positioned on a NULL: only the rest of the NULLs', () => {
    expect(seekRegions([publishedAt('asc', 'last'), id], [null, 41])).toEqual([
      { filter: { $and: [{ publishedAt: null }, { id: { $gt: 41 } }] }, firstKeyIsNull: true },
    ])
  })
})
