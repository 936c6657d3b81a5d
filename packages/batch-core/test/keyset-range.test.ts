import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { crc32 } from '../src/crc32.js'
import { InvalidPartitionError, InvalidResumeTokenError } from '../src/errors.js'
import {
  type KeysetBound,
  type KeysetRange,
  leadingKeyRanges,
  type LeadingKeyRange,
  rangePredicate,
  reverseKeys,
} from '../src/keyset-range.js'
import type { SortKey } from '../src/keyset-types.js'
import {
  describePartitions,
  type PartitionQuery,
  partitionRange,
  resolveRangeOptions,
} from '../src/partition-descriptor.js'
import { encodeResumeToken } from '../src/resume-token.js'
import {
  compareByKeys,
  matchesSeek,
  type Row,
  type Spec,
  specs,
  structuralProblems,
  valuesOf,
} from './keyset-reference.js'

// Properties against the reference model in keyset-reference.ts (SQL's three-valued logic): a range
// selects exactly the rows between its two positions, NULL keys included, and partitions between
// ordered cuts hold every row exactly once.

const ids = (rows: readonly Row[]) => rows.map((r) => r['id'] as number).join(',')

/** A row object holding `values` for the first `values.length` keys. */
const rowOf = (keys: readonly SortKey[], values: readonly unknown[]): Row =>
  Object.fromEntries(values.map((v, i) => [keys[i]!.field, v]))

/** How many sorted rows lie before a position. */
function position(keys: readonly SortKey[], rows: readonly Row[], bound: KeysetBound): number {
  if ('after' in bound) {
    const compare = compareByKeys(keys)
    return rows.filter((r) => compare(r, rowOf(keys, bound.after)) <= 0).length
  }
  const compare = compareByKeys(keys.slice(0, bound.at.length))
  return rows.filter((r) => compare(r, rowOf(keys, bound.at)) < 0).length
}

/** Bounds over the spec's keys: values of existing rows, mixed from several rows, or absent from the data (NULLs where nullable). */
function bounds({ keys, rows }: Spec): fc.Arbitrary<KeysetBound> {
  const pool = (key: SortKey): fc.Arbitrary<unknown> => {
    const seen = rows.map((r) => r[key.field])
    const strings = seen.some((v) => typeof v === 'string')
    const extra =
      key.field === 'id'
        ? [-1, rows.length]
        : [...(strings ? ['zz', ' '] : [-3, 3]), ...(key.nullable === false ? [] : [null])]
    return fc.constantFrom(...seen, ...extra)
  }
  const fromRow = rows.length === 0 ? fc.constant(undefined) : fc.nat(rows.length - 1).map((i) => rows[i])
  const mixed = fc.tuple(...keys.map(pool))
  const tuple = fc
    .oneof(
      fromRow.map((r) => (r === undefined ? undefined : valuesOf(keys, r))),
      mixed,
    )
    .chain((values) => (values === undefined ? mixed : fc.constant(values)))
  return fc.oneof(
    tuple.map((values): KeysetBound => ({ after: values })),
    fc
      .tuple(tuple, fc.integer({ min: 1, max: keys.length }))
      .map(([values, length]): KeysetBound => ({ at: values.slice(0, length) })),
  )
}

const optional = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 4 })

describe('rangePredicate: properties', () => {
  it('selects exactly the rows between the two positions (at or after from, before to), ties and NULLs included', () => {
    fc.assert(
      fc.property(
        specs(true).chain((spec) => fc.tuple(fc.constant(spec), optional(bounds(spec)), optional(bounds(spec)))),
        ([{ keys, rows }, from, to]) => {
          const sorted = [...rows].sort(compareByKeys(keys))
          const start = from === undefined ? 0 : position(keys, sorted, from)
          const end = to === undefined ? sorted.length : position(keys, sorted, to)
          const predicate = rangePredicate(keys, { from, to })
          if (predicate === undefined) return from === undefined && to === undefined
          if (structuralProblems(predicate).length > 0) return false
          return ids(sorted.filter((r) => matchesSeek(predicate, r))) === ids(sorted.slice(start, Math.max(start, end)))
        },
      ),
      { numRuns: 1500 },
    )
  })

  it('partitions between ordered cuts, their descriptors sent through JSON, hold every row exactly once and in order', () => {
    fc.assert(
      fc.property(
        specs(true).chain((spec) => fc.tuple(fc.constant(spec), fc.array(bounds(spec), { maxLength: 6 }))),
        ([{ keys, rows }, cuts]) => {
          const sorted = [...rows].sort(compareByKeys(keys))
          const ordered = [...cuts].sort((a, b) => position(keys, sorted, a) - position(keys, sorted, b))
          const query: PartitionQuery = { shape: { keys, fingerprint: 'test:t' }, conditions: 'WHERE x' }
          const descriptors = describePartitions(query, ordered)
          const seen = descriptors.flatMap((descriptor) => {
            const range = partitionRange(JSON.parse(JSON.stringify(descriptor)), query)
            const predicate = rangePredicate(keys, range)
            return predicate === undefined ? sorted : sorted.filter((r) => matchesSeek(predicate, r))
          })
          return descriptors.length === cuts.length + 1 && ids(seen) === ids(sorted)
        },
      ),
      { numRuns: 800 },
    )
  })
})

describe('leadingKeyRanges: properties', () => {
  const evaluate = (range: LeadingKeyRange, v: unknown): boolean => {
    if (range.kind === 'nulls') return v === null
    if (v === null) return false
    const below = (x: unknown, y: unknown) => (x as number) < (y as number)
    return (
      !(range.atLeast !== undefined && below(v, range.atLeast)) &&
      !(range.atMost !== undefined && below(range.atMost, v))
    )
  }

  it('read in turn, the stretches give exactly the sorted rows whose leading key lies between lower and upper', () => {
    const withEnds = specs(true).chain((spec) => {
      const key = spec.keys[0]!
      const values = [...new Set(spec.rows.map((r) => r[key.field]))]
      const end = fc.constantFrom<unknown>(undefined, ...values, ...(key.nullable === false ? [] : [null]))
      return fc.tuple(fc.constant(spec), end, end)
    })
    fc.assert(
      fc.property(withEnds, ([{ keys, rows }, lower, upper]) => {
        const key = keys[0]!
        const sorted = [...rows].sort(compareByKeys(keys))
        const compare = compareByKeys([key])
        const inside = sorted.filter(
          (r) =>
            (lower === undefined || compare(r, { [key.field]: lower }) >= 0) &&
            (upper === undefined || compare(r, { [key.field]: upper }) <= 0),
        )
        const ranges = leadingKeyRanges(key, lower, upper)
        const read = ranges.flatMap((range) => sorted.filter((r) => evaluate(range, r[key.field])))
        return ids(read) === ids(inside) && ranges.length <= 2
      }),
      { numRuns: 1500 },
    )
  })
})

describe('range building blocks', () => {
  const at: SortKey = { field: 'at', direction: 'asc', nulls: 'last' }
  const id: SortKey = { field: 'id', direction: 'asc', nulls: 'last', nullable: false }

  it('reverseKeys flips each direction and NULL placement and keeps the rest', () => {
    expect(reverseKeys([at, { ...id, direction: 'desc', nulls: 'first' }])).toEqual([
      { field: 'at', direction: 'desc', nulls: 'first' },
      { field: 'id', direction: 'asc', nulls: 'last', nullable: false },
    ])
  })

  it('a range without bounds is no condition at all', () => {
    expect(rangePredicate([at, id], {})).toBeUndefined()
  })

  it('"before a NULL" with NULLs last is every non-null row: IS NOT NULL, never NOT (…)', () => {
    expect(rangePredicate([at, id], { to: { at: [null] } })).toEqual({ kind: 'isNotNull', field: 'at' })
  })

  it('"at or before the row (NULL, 7)" keeps the non-null rows and the NULL rows up to id 7', () => {
    expect(rangePredicate([at, id], { to: { after: [null, 7] } })).toEqual({
      kind: 'or',
      terms: [
        { kind: 'isNotNull', field: 'at' },
        {
          kind: 'and',
          terms: [
            { kind: 'isNull', field: 'at' },
            { kind: 'compare', field: 'id', op: '<', value: 7 },
          ],
        },
        {
          kind: 'and',
          terms: [
            { kind: 'isNull', field: 'at' },
            { kind: 'compare', field: 'id', op: '=', value: 7 },
          ],
        },
      ],
    })
  })

  it('malformed bounds throw naming the option', () => {
    expect(() => rangePredicate([at, id], { from: { after: [1] } })).toThrow(
      new RangeError('from.after must have one value per sort key (2); received 1 values'),
    )
    expect(() => rangePredicate([at, id], { to: { at: [] } })).toThrow(
      /to\.at must have 1 to 2 values, for the leading sort keys \(at, id\); received 0 values/,
    )
    expect(() => rangePredicate([at, id], { from: { at: [undefined] } })).toThrow(
      /from\.at\[0\] \(the value of "at"\) is undefined/,
    )
    expect(() => rangePredicate([at, id], { from: { after: [1, null] } })).toThrow(
      /from\.after\[1\] is null, but sort key "id" is declared nullable: false/,
    )
    expect(() => rangePredicate([at, id], { from: { after: [1, 2], at: [1] } } as unknown as KeysetRange)).toThrow(
      /exactly one of after/,
    )
    expect(() => rangePredicate([at, id], { to: [1] } as unknown as KeysetRange)).toThrow(TypeError)
  })

  it('leadingKeyRanges: the NULL stretch is read where the key puts NULLs, and is left out when a bound excludes it', () => {
    expect(leadingKeyRanges(at, 5, undefined)).toEqual([{ kind: 'values', atLeast: 5 }, { kind: 'nulls' }])
    expect(leadingKeyRanges({ ...at, direction: 'desc', nulls: 'first' }, undefined, 5)).toEqual([
      { kind: 'nulls' },
      { kind: 'values', atLeast: 5 },
    ])
    expect(leadingKeyRanges(at, 5, 9)).toEqual([{ kind: 'values', atLeast: 5, atMost: 9 }])
    expect(leadingKeyRanges({ ...at, direction: 'desc' }, 9, 5)).toEqual([{ kind: 'values', atLeast: 5, atMost: 9 }])
    expect(leadingKeyRanges(at, null, 5)).toEqual([])
    expect(leadingKeyRanges(at, null, undefined)).toEqual([{ kind: 'nulls' }])
    expect(leadingKeyRanges(id, undefined, undefined)).toEqual([{ kind: 'values' }])
  })
})

describe('partition descriptors', () => {
  const keys: SortKey[] = [
    { field: 'at', direction: 'desc', nulls: 'last' },
    { field: 'id', direction: 'asc', nulls: 'last', nullable: false },
  ]
  const query: PartitionQuery = {
    shape: { keys, fingerprint: 'typeorm:books' },
    conditions: 'WHERE rating > :r {"r":2}',
  }
  const when = new Date('2024-05-01T12:00:00.123Z')
  const cuts: KeysetBound[] = [{ at: [when] }, { after: [null, 12n] }]
  const parts = describePartitions(query, cuts)
  const json = (value: unknown) => JSON.parse(JSON.stringify(value)) as Record<string, unknown>

  it("are plain JSON that comes back as the same ranges, with the values' types (Date, bigint, null)", () => {
    expect(parts.map((p) => [p.index, p.count])).toEqual([
      [0, 3],
      [1, 3],
      [2, 3],
    ])
    expect(parts.map((p) => partitionRange(json(p), query))).toEqual([
      { from: undefined, to: { at: [when] } },
      { from: { at: [when] }, to: { after: [null, 12n] } },
      { from: { after: [null, 12n] }, to: undefined },
    ])
    expect(json(parts[1])).toEqual(parts[1])
  })

  it('an `after` bound is the resume token of that row', () => {
    expect(parts[2]!.from).toEqual({ after: encodeResumeToken(query.shape, [null, 12n]) })
  })

  it('are refused for the same ordering with other conditions, naming that', () => {
    const other = { ...query, conditions: 'WHERE rating > :r {"r":3}' }
    expect(() => partitionRange(json(parts[1]), other)).toThrow(InvalidPartitionError)
    expect(() => partitionRange(json(parts[1]), other)).toThrow(
      /partition 2 of 3 was made for a different query \(the same entity and ordering, but other conditions or parameters\)/,
    )
  })

  it('are refused for another ordering or entity', () => {
    const flipped = { ...query, shape: { ...query.shape, keys: reverseKeys(keys) } }
    expect(() => partitionRange(json(parts[0]), flipped)).toThrow(
      /made for a different query \(another entity or ordering\)/,
    )
    expect(() =>
      partitionRange(json(parts[0]), { ...query, shape: { ...query.shape, fingerprint: 'typeorm:authors' } }),
    ).toThrow(InvalidPartitionError)
  })

  it('are refused when altered, cut, of another format or not a descriptor at all', () => {
    const damaged = (change: (d: Record<string, unknown>) => void) => {
      const d = json(parts[1])
      change(d)
      return () => partitionRange(d, query)
    }
    expect(damaged((d) => (d.from = null))).toThrow(/partition is damaged/)
    expect(damaged((d) => (d.index = 0))).toThrow(/partition is damaged/)
    expect(damaged((d) => delete d.to)).toThrow(/its to is undefined/)
    expect(damaged((d) => (d.format = 'batchyield.partition/9'))).toThrow(/format "batchyield.partition\/9"/)
    const token = (parts[1]!.to as { after: string }).after
    const flippedChar = token.slice(0, 9) + (token[9] === 'A' ? 'B' : 'A') + token.slice(10)
    // the check recomputed by hand: the bound's own checksum still catches the change
    expect(damaged((d) => forgeCheck(d, (d.to = { after: flippedChar })))).toThrow(
      /partition 2 of 3 has a bound that cannot be read \(the resume token is damaged/,
    )
    for (const value of [null, 'x', [1], {}]) expect(() => partitionRange(value, query)).toThrow(InvalidPartitionError)
  })

  it('a bound replaced by another valid position is caught by the check', () => {
    const d = json(parts[1])
    d.to = { after: encodeResumeToken(query.shape, [null, 99]) }
    expect(() => partitionRange(d, query)).toThrow(/partition is damaged/)
  })
})

/** Sets the check a descriptor with these fields would have (what a deliberate forger would do). */
function forgeCheck(d: Record<string, unknown>, _change: unknown): void {
  d.check = crc32(new TextEncoder().encode(JSON.stringify([d.format, d.query, d.index, d.count, d.from, d.to])))
    .toString(16)
    .padStart(8, '0')
}

describe('resolveRangeOptions', () => {
  const keys: SortKey[] = [{ field: 'id', direction: 'asc', nulls: 'last', nullable: false }]
  const shape = { keys, fingerprint: 'typeorm:events' }

  it('reads a resume token as "after that row" and values as "at those leading keys"', () => {
    const token = encodeResumeToken(shape, [41])
    expect(resolveRangeOptions({ from: token, to: [100] }, shape, () => '')).toEqual({
      from: { after: [41] },
      to: { at: [100] },
    })
    expect(resolveRangeOptions({ to: token }, shape, () => '')).toEqual({ from: undefined, to: { after: [41] } })
    expect(resolveRangeOptions({ from: { at: [3] } }, shape, () => '')).toEqual({ from: { at: [3] }, to: undefined })
    expect(resolveRangeOptions({}, shape, () => '')).toBeUndefined()
  })

  it('a partition descriptor sets both ends; it cannot be combined with from or to', () => {
    const [first] = describePartitions({ shape, conditions: 'c' }, [{ at: [10] }])
    expect(resolveRangeOptions({ partition: first }, shape, () => 'c')).toEqual({ from: undefined, to: { at: [10] } })
    expect(() => resolveRangeOptions({ partition: first, from: [1] }, shape, () => 'c')).toThrow(
      /give either partition or from\/to, not both/,
    )
    expect(() => resolveRangeOptions({ partition: first }, shape, () => 'other')).toThrow(InvalidPartitionError)
  })

  it('refuses malformed values at once', () => {
    expect(() => resolveRangeOptions({ from: 12 } as never, shape, () => '')).toThrow(
      /from must be a resume token \(a string\), an array/,
    )
    expect(() => resolveRangeOptions({ to: [1, 2] }, shape, () => '')).toThrow(RangeError)
    expect(() => resolveRangeOptions({ from: 'nope' }, shape, () => '')).toThrow(InvalidResumeTokenError)
    expect(() =>
      resolveRangeOptions({ from: encodeResumeToken({ ...shape, fingerprint: 'x' }, [1]) }, shape, () => ''),
    ).toThrow(InvalidResumeTokenError)
  })
})
