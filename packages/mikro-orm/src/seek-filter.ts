import {
  type KeysetRange,
  leadingKeyRanges,
  type LeadingKeyRange,
  leadingValue,
  rangePredicate,
  type SeekPredicate,
  seekPredicate,
  type SortKey,
} from '@batchyield/batch-core'

/** A MikroORM `FilterQuery` object, built from property names and raw column fragments (values are bound as parameters). */
export type SeekFilter = Record<string | symbol, unknown>

/**
 * The filter key a comparison on `field` uses: the property name, or a raw SQL fragment (a fresh
 * `raw()` key) when the seek must compare an expression of the column or bind its value untouched
 * by the property's type. NULL tests always use the property.
 */
export type CompareKey = (field: string) => string | symbol

const byProperty: CompareKey = (field) => field

const OPERATORS = { '<': '$lt', '>': '$gt', '=': '$eq' } as const

/**
 * Translates batch-core's seek predicate into a MikroORM filter on property names:
 * `or` → `$or`, `and` → `$and`, `>`/`<`/`=` → `$gt`/`$lt`/`$eq`, NULL tests → `null`/`$ne: null`.
 * `{ kind: 'false' }` has no filter form; callers check for it first (nothing comes after).
 *
 * @example
 * ```ts
 * toSeekFilter({ kind: 'or', terms: [
 *   { kind: 'compare', field: 'rating', op: '<', value: 3 },
 *   { kind: 'and', terms: [{ kind: 'compare', field: 'rating', op: '=', value: 3 }, { kind: 'compare', field: 'id', op: '>', value: 41 }] },
 * ] })
 * // { $or: [{ rating: { $lt: 3 } }, { $and: [{ rating: { $eq: 3 } }, { id: { $gt: 41 } }] }] }
 * ```
 */
export function toSeekFilter(predicate: SeekPredicate, compareKey: CompareKey = byProperty): SeekFilter {
  switch (predicate.kind) {
    case 'or':
      return { $or: predicate.terms.map((term) => toSeekFilter(term, compareKey)) }
    case 'and':
      return { $and: predicate.terms.map((term) => toSeekFilter(term, compareKey)) }
    case 'compare':
      return { [compareKey(predicate.field)]: { [OPERATORS[predicate.op]]: bindable(predicate.value) } }
    case 'isNull':
      return { [predicate.field]: null }
    case 'isNotNull':
      return { [predicate.field]: { $ne: null } }
    case 'false':
      throw new TypeError(
        'toSeekFilter(): a { kind: "false" } predicate has no filter form; nothing comes after the last row',
      )
  }
}

/** One index region to read after the last row: its filter, and whether it holds only NULLs of the first key. */
export interface SeekRegion {
  readonly filter: SeekFilter
  /** Every row of the region has a NULL first key, so that key may be left out of the ORDER BY. */
  readonly firstKeyIsNull: boolean
}

/**
 * The regions that hold the rows after `lastValues`, to be read in turn until a chunk is full
 * (an empty list: nothing comes after).
 *
 * The OR-expanded seek alone is only a filter to PostgreSQL: each chunk would scan the
 * `(k1, …, pk)` index from its beginning, which makes a whole run quadratic. So the seek is ANDed
 * with a redundant bound on the first key (`k1 >= x1`, or `<=` descending) that the database uses
 * as the start of an index range. When the first key is nullable, its NULLs form a region of their
 * own at one end of the index, which a bound on values cannot reach; the rows after the position
 * are then read as two ranges: the rest of the current region, then the whole other one if it
 * comes later. The bound compares what the seek compares (`compareKey`).
 *
 * @example
 * ```ts
 * // published_at asc, NULLs last; last row (2024-05-01, 41)
 * seekRegions(keys, [new Date('2024-05-01'), 41]).map((r) => r.filter)
 * // [{ $and: [{ publishedAt: { $gte: … } }, { $or: [{ publishedAt: { $gt: … } }, { $and: [{ publishedAt: { $eq: … } }, { id: { $gt: 41 } }] }] }] },
 * //  { publishedAt: null }]
 * ```
 */
export function seekRegions(
  keys: readonly SortKey[],
  lastValues: readonly unknown[],
  compareKey: CompareKey = byProperty,
): SeekRegion[] {
  const [first, ...rest] = keys
  const value = lastValues[0]
  if (first === undefined) return []
  const nullable = first.nullable !== false
  const regions: SeekRegion[] = []
  if (value === null) {
    // inside the NULL region: the rest of it (by the remaining keys), then the values if they come after
    const after = seekPredicate(rest, lastValues.slice(1))
    if (after.kind !== 'false')
      regions.push({
        filter: { $and: [{ [first.field]: null }, toSeekFilter(after, compareKey)] },
        firstKeyIsNull: true,
      })
    if (first.nulls === 'first') regions.push({ filter: { [first.field]: { $ne: null } }, firstKeyIsNull: false })
    return regions
  }
  const values = seekPredicate([{ ...first, nullable: false }, ...rest], lastValues)
  if (values.kind !== 'false') {
    const bound = { [compareKey(first.field)]: { [first.direction === 'asc' ? '$gte' : '$lte']: bindable(value) } }
    regions.push({ filter: { $and: [bound, toSeekFilter(values, compareKey)] }, firstKeyIsNull: false })
  }
  if (nullable && first.nulls === 'last') regions.push({ filter: { [first.field]: null }, firstKeyIsNull: true })
  return regions
}

/**
 * The regions a keyset chunk reads after `lastValues` (undefined: the first chunk, from the start;
 * its one region `undefined` means no seek condition), inside `range` when the run has one. Seek
 * and range values go through `toBound` (what the seek binds for a key value).
 */
export function regionsFor(
  keys: readonly SortKey[],
  lastValues: readonly unknown[] | undefined,
  range: KeysetRange | undefined,
  toBound: (values: readonly unknown[]) => readonly unknown[],
  compareKey: CompareKey = byProperty,
): (SeekRegion | undefined)[] {
  const last = lastValues === undefined ? undefined : toBound(lastValues)
  if (range === undefined) return last === undefined ? [undefined] : seekRegions(keys, last, compareKey)
  const bound = (b: KeysetRange['from']): KeysetRange['from'] =>
    b === undefined ? undefined : 'after' in b ? { after: toBound(b.after) } : { at: toBound(b.at) }
  return rangeRegions(keys, last, { from: bound(range.from), to: bound(range.to) }, compareKey)
}

/**
 * {@link seekRegions} for a run with a range (`from`/`to`, a `partition`): the rows after
 * `lastValues` (from the start of the range before the first chunk) that lie in `range`. Each
 * region is one stretch of the first key (batch-core's `leadingKeyRanges`: its values, bounded at
 * both ends where the range is, and its NULLs), ANDed with the seek and the range's own condition,
 * so the database starts and stops its index scan at the region's ends: a chunk near the end of a
 * partition does not scan on to the end of the index. Range values are bound as seek values are.
 *
 * @example
 * ```ts
 * // published_at asc, NULLs last; the rows from 2024-01-01 up to (not including) 2024-07-01
 * rangeRegions(keys, undefined, { from: { at: ['2024-01-01'] }, to: { at: ['2024-07-01'] } }).map((r) => r.filter)
 * // [{ $and: [{ publishedAt: { $gte: '2024-01-01', $lte: '2024-07-01' } }, { $and: [<at or after 2024-01-01>, <before 2024-07-01>] }] }]
 * ```
 */
export function rangeRegions(
  keys: readonly SortKey[],
  lastValues: readonly unknown[] | undefined,
  range: KeysetRange,
  compareKey: CompareKey = byProperty,
): SeekRegion[] {
  const first = keys[0]
  if (first === undefined) return []
  const seek = lastValues === undefined ? undefined : seekPredicate(keys, lastValues)
  const within = rangePredicate(keys, range)
  if (seek?.kind === 'false' || within?.kind === 'false') return []
  const lower =
    lastValues !== undefined ? lastValues[0] : range.from === undefined ? undefined : leadingValue(range.from)
  const upper = range.to === undefined ? undefined : leadingValue(range.to)
  return leadingKeyRanges(first, lower, upper).map((stretch) => {
    const hint = stretchFilter(first, stretch, compareKey)
    // the conditions' raw() keys are made per region: each region is a query of its own, and MikroORM 6
    // forgets a raw() key once a query has read it
    const conditions = [seek, within].flatMap((p) => (p === undefined ? [] : [toSeekFilter(p, compareKey)]))
    const terms = hint === undefined ? conditions : [hint, ...conditions]
    return {
      filter: terms.length === 0 ? {} : terms.length === 1 ? terms[0]! : { $and: terms },
      firstKeyIsNull: stretch.kind === 'nulls',
    }
  })
}

/** One stretch of the first key as a filter: `null`, or `$gte`/`$lte` its ends (`$ne: null` without ends; nothing for a key that is never NULL). */
function stretchFilter(first: SortKey, stretch: LeadingKeyRange, compareKey: CompareKey): SeekFilter | undefined {
  if (stretch.kind === 'nulls') return { [first.field]: null }
  const bounds: Record<string, unknown> = {}
  if (stretch.atLeast !== undefined) bounds.$gte = bindable(stretch.atLeast)
  if (stretch.atMost !== undefined) bounds.$lte = bindable(stretch.atMost)
  if (Object.keys(bounds).length > 0) return { [compareKey(first.field)]: bounds }
  return first.nullable === false ? undefined : { [first.field]: { $ne: null } }
}

/**
 * A key value as the filter binds it: MikroORM writes a number into the SQL as a numeric literal,
 * which is exact for integers only (a real column compares with it as double; NaN and ±Infinity
 * are no literals), so other numbers go as their shortest round-trip text, which the server casts
 * to the column's type. Only raw column comparisons get such values (see `KeyColumn.rawCompare`).
 */
function bindable(value: unknown): unknown {
  return typeof value === 'number' && !Number.isSafeInteger(value) ? String(value) : value
}
