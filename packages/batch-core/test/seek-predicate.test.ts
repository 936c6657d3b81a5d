import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { SeekPredicate, SortKey } from '../src/keyset-types.js'
import { seekPredicate } from '../src/seek-predicate.js'
import { compareByKeys, matchesSeek, type Row, specs, structuralProblems, valuesOf } from './keyset-reference.js'

const id = (direction: 'asc' | 'desc' = 'asc'): SortKey => ({ field: 'id', direction, nulls: 'last', nullable: false })
const cmp = (field: string, op: '<' | '>' | '=', value: unknown): SeekPredicate => ({
  kind: 'compare',
  field,
  op,
  value,
})
const isNull = (field: string): SeekPredicate => ({ kind: 'isNull', field })
const isNotNull = (field: string): SeekPredicate => ({ kind: 'isNotNull', field })
const and = (...terms: SeekPredicate[]): SeekPredicate => ({ kind: 'and', terms })
const or = (...terms: SeekPredicate[]): SeekPredicate => ({ kind: 'or', terms })

describe('seekPredicate: single key', () => {
  it('asc non-nullable key seeks with >', () => {
    expect(seekPredicate([id()], [7])).toEqual(cmp('id', '>', 7))
  })

  it('desc non-nullable key seeks with <', () => {
    expect(seekPredicate([id('desc')], [7])).toEqual(cmp('id', '<', 7))
  })

  it('nullable key with NULLs last also takes the NULL rows after a non-null value', () => {
    expect(seekPredicate([{ field: 'a', direction: 'asc', nulls: 'last' }], [3])).toEqual(
      or(cmp('a', '>', 3), isNull('a')),
    )
    expect(seekPredicate([{ field: 'a', direction: 'desc', nulls: 'last', nullable: true }], [3])).toEqual(
      or(cmp('a', '<', 3), isNull('a')),
    )
  })

  it('nullable key with NULLs first takes no NULL rows after a non-null value', () => {
    expect(seekPredicate([{ field: 'a', direction: 'asc', nulls: 'first' }], [3])).toEqual(cmp('a', '>', 3))
  })

  it('nullable: false drops the IS NULL term even when NULLs would sort last', () => {
    expect(seekPredicate([{ field: 'a', direction: 'asc', nulls: 'last', nullable: false }], [3])).toEqual(
      cmp('a', '>', 3),
    )
  })

  it('after a NULL with NULLs first, every non-null row comes after', () => {
    expect(seekPredicate([{ field: 'a', direction: 'desc', nulls: 'first' }], [null])).toEqual(isNotNull('a'))
  })

  it('after a NULL with NULLs last, nothing comes after: { kind: "false" }', () => {
    expect(seekPredicate([{ field: 'a', direction: 'asc', nulls: 'last' }], [null])).toEqual({ kind: 'false' })
  })

  it('passes values through untouched (same Date, bigint, string objects)', () => {
    const when = new Date('2024-01-01T00:00:00Z')
    const p = seekPredicate([{ field: 'at', direction: 'asc', nulls: 'first' }], [when])
    expect(p.kind === 'compare' && p.value).toBe(when)
    expect(seekPredicate([id()], [12n])).toEqual(cmp('id', '>', 12n))
    expect(seekPredicate([id()], ["O'Brien \\ \u0000"])).toEqual(cmp('id', '>', "O'Brien \\ \u0000"))
  })
})

describe('seekPredicate: several keys', () => {
  it('builds the expanded OR-of-ANDs form with mixed directions', () => {
    const keys: SortKey[] = [
      { field: 'rating', direction: 'desc', nulls: 'first', nullable: false },
      { field: 'title', direction: 'asc', nulls: 'last', nullable: false },
      id(),
    ]
    expect(seekPredicate(keys, [3, 'M', 41])).toEqual(
      or(
        cmp('rating', '<', 3),
        and(cmp('rating', '=', 3), cmp('title', '>', 'M')),
        and(cmp('rating', '=', 3), cmp('title', '=', 'M'), cmp('id', '>', 41)),
      ),
    )
  })

  it('a nullable NULLs-last leading key adds its IS NULL term to the first disjunct', () => {
    const keys: SortKey[] = [{ field: 'publishedAt', direction: 'desc', nulls: 'last' }, id()]
    const when = new Date('2024-01-01T00:00:00Z')
    expect(seekPredicate(keys, [when, 41])).toEqual(
      or(cmp('publishedAt', '<', when), isNull('publishedAt'), and(cmp('publishedAt', '=', when), cmp('id', '>', 41))),
    )
  })

  it('a nullable middle key nests its IS NULL alternative inside the conjunction', () => {
    const keys: SortKey[] = [
      { field: 'a', direction: 'asc', nulls: 'first', nullable: false },
      { field: 'b', direction: 'asc', nulls: 'last' },
      id(),
    ]
    expect(seekPredicate(keys, [1, 2, 3])).toEqual(
      or(
        cmp('a', '>', 1),
        and(cmp('a', '=', 1), or(cmp('b', '>', 2), isNull('b'))),
        and(cmp('a', '=', 1), cmp('b', '=', 2), cmp('id', '>', 3)),
      ),
    )
  })

  it('a NULL last value becomes IS NULL in the equalities, never a comparison with NULL', () => {
    const keys: SortKey[] = [{ field: 'publishedAt', direction: 'asc', nulls: 'last' }, id()]
    expect(seekPredicate(keys, [null, 41])).toEqual(and(isNull('publishedAt'), cmp('id', '>', 41)))
  })

  it('a NULL last value with NULLs first keeps both the IS NOT NULL and the tie-breaker disjunct', () => {
    const keys: SortKey[] = [{ field: 'publishedAt', direction: 'asc', nulls: 'first' }, id('desc')]
    expect(seekPredicate(keys, [null, 41])).toEqual(
      or(isNotNull('publishedAt'), and(isNull('publishedAt'), cmp('id', '<', 41))),
    )
  })

  it('returns { kind: "false" } when every key is at its last possible value', () => {
    const keys: SortKey[] = [
      { field: 'a', direction: 'asc', nulls: 'last' },
      { field: 'b', direction: 'desc', nulls: 'last' },
    ]
    expect(seekPredicate(keys, [null, null])).toEqual({ kind: 'false' })
  })
})

describe('seekPredicate: bad input', () => {
  const a: SortKey = { field: 'a', direction: 'asc', nulls: 'last' }

  it.each<[string, unknown, unknown, ErrorConstructor, RegExp]>([
    ['keys not an array', 'id', [1], TypeError, /keys must be an array of sort keys.*received "id"/],
    ['empty keys', [], [], RangeError, /keys must contain at least one sort key/],
    ['a key that is not an object', [null], [1], TypeError, /keys\[0\] must be a sort key object/],
    [
      'an empty field',
      [{ ...a, field: '' }],
      [1],
      TypeError,
      /keys\[0\]\.field must be a non-empty string; received ""/,
    ],
    [
      'a bad direction',
      [a, { ...a, field: 'b', direction: 'up' }],
      [1, 2],
      RangeError,
      /keys\[1\]\.direction must be one of 'asc', 'desc'; received "up"/,
    ],
    [
      'a bad nulls',
      [{ ...a, nulls: 'middle' }],
      [1],
      RangeError,
      /keys\[0\]\.nulls must be one of 'first', 'last'; received "middle"/,
    ],
    [
      'a non-boolean nullable',
      [{ ...a, nullable: 'no' }],
      [1],
      TypeError,
      /keys\[0\]\.nullable must be true, false or undefined; received "no"/,
    ],
    ['a repeated field', [a, { ...a }], [1, 2], RangeError, /keys\[1\]\.field "a" repeats keys\[0\]/],
    ['lastValues not an array', [a], 1, TypeError, /lastValues must be an array/],
    ['too few values', [a, id()], [1], RangeError, /one value per sort key \(2\); received 1 values/],
    ['too many values', [a], [1, 2], RangeError, /one value per sort key \(1\); received 2 values/],
    ['an undefined value', [a], [undefined], TypeError, /lastValues\[0\] \(the value of "a"\) is undefined; pass null/],
    [
      'null for a nullable: false key',
      [id()],
      [null],
      TypeError,
      /lastValues\[0\] is null, but sort key "id" is declared nullable: false/,
    ],
  ])('rejects %s with a message naming it', (_, keys, values, type, message) => {
    const call = () => seekPredicate(keys as SortKey[], values as unknown[])
    expect(call).toThrow(type)
    expect(call).toThrow(message)
  })
})

// ---- properties against the reference model in keyset-reference.ts ----

// Properties return booleans rather than calling expect(): fast-check then shrinks a failure to a
// small counterexample quickly, without building a diff at every shrinking step.
const ids = (rows: readonly Row[]) => rows.map((r) => r['id'] as number).join(',')

describe('seekPredicate: properties', () => {
  it('selects exactly the rows whose keys sort strictly after the last row (ties and NULLs included)', () => {
    fc.assert(
      fc.property(specs(false), ({ keys, rows }) => {
        const compare = compareByKeys(keys)
        return rows.every((last) => {
          const p = seekPredicate(keys, valuesOf(keys, last))
          return ids(rows.filter((r) => matchesSeek(p, r))) === ids(rows.filter((r) => compare(r, last) > 0))
        })
      }),
      { numRuns: 400 },
    )
  })

  it('with a unique last key, selects exactly the rows after each row of the sorted result', () => {
    fc.assert(
      fc.property(specs(true), ({ keys, rows }) => {
        const sorted = [...rows].sort(compareByKeys(keys))
        return sorted.every((last, i) => {
          const p = seekPredicate(keys, valuesOf(keys, last))
          return ids(sorted.filter((r) => matchesSeek(p, r))) === ids(sorted.slice(i + 1))
        })
      }),
      { numRuns: 400 },
    )
  })

  it('keyset pagination with the predicate visits every row exactly once, in order', () => {
    fc.assert(
      fc.property(specs(true), fc.integer({ min: 1, max: 7 }), ({ keys, rows }, pageSize) => {
        const compare = compareByKeys(keys)
        const visited: Row[] = []
        let page = [...rows].sort(compare).slice(0, pageSize)
        while (page.length > 0 && visited.length <= rows.length) {
          visited.push(...page)
          const p = seekPredicate(keys, valuesOf(keys, page.at(-1)!))
          page = rows
            .filter((r) => matchesSeek(p, r))
            .sort(compare)
            .slice(0, pageSize)
        }
        return ids(visited) === ids([...rows].sort(compare))
      }),
      { numRuns: 300 },
    )
  })

  it('is always simplified: no comparison with NULL, and/or with two or more terms, no nesting of the same kind', () => {
    fc.assert(
      fc.property(specs(true), ({ keys, rows }) =>
        rows.every((last) => structuralProblems(seekPredicate(keys, valuesOf(keys, last))).length === 0),
      ),
      { numRuns: 300 },
    )
  })
})
