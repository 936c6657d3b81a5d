import type { SeekPredicate, SortKey } from './keyset-types.js'
import { assertSortKeys, seekPredicate } from './seek-predicate.js'
import { describeValue } from './validate.js'

/**
 * A position in a keyset ordering, as the start or end of a range:
 * - `{ after: values }`: right after the row whose key values (one per key) are `values`, which is
 *   what a resume token holds;
 * - `{ at: values }`: right before the first row whose leading keys (the first `values.length`
 *   keys, 1 to all of them) are at or after `values` in the ordering. A prefix splits a key space
 *   on a value of its leading key(s) alone (a histogram bound, a date).
 *
 * @example
 * ```ts
 * import type { KeysetBound } from '@batchyield/batch-core'
 *
 * const afterBook41: KeysetBound = { after: [new Date('2024-01-01'), 41] } // ORDER BY published_at, id
 * const from2024: KeysetBound = { at: [new Date('2024-01-01')] }           // the first row of 2024 on
 * ```
 */
export type KeysetBound = { readonly after: readonly unknown[] } | { readonly at: readonly unknown[] }

/**
 * The rows of an ordering from one position up to another: at or after `from` and before `to`
 * (each side open when left out). Two ranges that share a position, one's `to` and the next one's
 * `from`, hold every row exactly once between them, NULL sort keys included.
 *
 * @example
 * ```ts
 * import type { KeysetRange } from '@batchyield/batch-core'
 *
 * // ORDER BY published_at DESC NULLS LAST, id: the rows of 2023 (nothing of 2024, nothing NULL)
 * const year2023: KeysetRange = { from: { at: [new Date('2024-01-01')] }, to: { at: [new Date('2023-01-01')] } }
 * ```
 */
export interface KeysetRange {
  /** Rows at or after this position; none: from the first row. */
  readonly from?: KeysetBound | undefined
  /** Rows before this position; none: to the last row. */
  readonly to?: KeysetBound | undefined
}

/**
 * One stretch of the leading key's values that a bounded read goes through, in reading order:
 * - `{ kind: 'nulls' }`: `k IS NULL`;
 * - `{ kind: 'values', atLeast?, atMost? }`: `k IS NOT NULL`, `k >= atLeast` and `k <= atMost`
 *   where given (SQL comparison: the direction is already applied).
 *
 * Each is a plain index range, which is what lets a database start and stop its index scan at the
 * range's ends; see {@link leadingKeyRanges}.
 *
 * @example
 * ```ts
 * import type { LeadingKeyRange } from '@batchyield/batch-core'
 *
 * const year2023: LeadingKeyRange = { kind: 'values', atLeast: new Date('2023-01-01'), atMost: new Date('2024-01-01') }
 * ```
 */
export type LeadingKeyRange =
  { readonly kind: 'nulls' } | { readonly kind: 'values'; readonly atLeast?: unknown; readonly atMost?: unknown }

const FALSE: SeekPredicate = { kind: 'false' }

/**
 * The same keys in the opposite order: each direction and each NULL placement flipped. "Before X"
 * in `keys` is "after X" in `reverseKeys(keys)`, so every bound is built from {@link seekPredicate}
 * and no condition is ever negated (`NOT (k > x)` would lose the rows whose `k` is NULL).
 *
 * @example
 * ```ts
 * import { reverseKeys } from '@batchyield/batch-core'
 *
 * reverseKeys([{ field: 'at', direction: 'asc', nulls: 'last' }]) // [{ field: 'at', direction: 'desc', nulls: 'first' }]
 * ```
 */
export function reverseKeys(keys: readonly SortKey[]): SortKey[] {
  return keys.map((key) => ({
    ...key,
    direction: key.direction === 'asc' ? 'desc' : 'asc',
    nulls: key.nulls === 'first' ? 'last' : 'first',
  }))
}

/**
 * The condition "at or after `range.from` and before `range.to`" over `keys`, in the same AST as
 * {@link seekPredicate} (adapters render it the same way), or undefined when the range has no bound.
 *
 * - from `{ after: X }`: after X (the seek predicate itself);
 * - from `{ at: P }`: after P or equal to P, over the first `P.length` keys;
 * - to `{ after: X }`: at or before X, that is after X in the reversed ordering, or equal to X;
 * - to `{ at: P }`: before P, that is after P in the reversed ordering of the first `P.length` keys.
 *
 * Throws TypeError/RangeError naming the option for a malformed bound: values that are not an
 * array, `after` without one value per key, `at` with none or more than the keys, `undefined`
 * values, or null for a `nullable: false` key.
 *
 * @example
 * ```ts
 * import { rangePredicate } from '@batchyield/batch-core'
 *
 * const keys = [{ field: 'rating', direction: 'desc', nulls: 'last', nullable: false }, { field: 'id', direction: 'asc', nulls: 'last', nullable: false }] as const
 * // rating < 4 OR (rating = 4 AND id > 17)   AND   rating > 2
 * console.log(JSON.stringify(rangePredicate(keys, { from: { after: [4, 17] }, to: { at: [2] } })))
 * ```
 */
export function rangePredicate(keys: readonly SortKey[], range: KeysetRange): SeekPredicate | undefined {
  assertSortKeys('keys', keys)
  const terms: SeekPredicate[] = []
  if (range.from !== undefined) terms.push(fromPredicate(keys, range.from))
  if (range.to !== undefined) terms.push(toPredicate(keys, range.to))
  return terms.length === 0 ? undefined : allOf(terms)
}

/** Rows at or after `bound`. */
function fromPredicate(keys: readonly SortKey[], bound: KeysetBound): SeekPredicate {
  const { kind, values, prefix } = boundParts('from', keys, bound)
  return kind === 'after'
    ? seekPredicate(keys, values)
    : anyOf([seekPredicate(prefix, values), equalTo(prefix, values)])
}

/** Rows before `bound`. */
function toPredicate(keys: readonly SortKey[], bound: KeysetBound): SeekPredicate {
  const { kind, values, prefix } = boundParts('to', keys, bound)
  return kind === 'after'
    ? anyOf([seekPredicate(reverseKeys(keys), values), equalTo(keys, values)])
    : seekPredicate(reverseKeys(prefix), values)
}

/**
 * Checks a bound against `keys` (TypeError/RangeError naming `option`) and returns its kind, its
 * values and the keys they are values of.
 *
 * @example
 * ```ts
 * assertKeysetBound('from', [{ field: 'id', direction: 'asc', nulls: 'last' }], { at: [7] }) // ok
 * ```
 */
export function assertKeysetBound(
  option: string,
  keys: readonly SortKey[],
  bound: unknown,
): asserts bound is KeysetBound {
  boundParts(option, keys, bound)
}

function boundParts(
  option: string,
  keys: readonly SortKey[],
  bound: unknown,
): { kind: 'after' | 'at'; values: readonly unknown[]; prefix: readonly SortKey[] } {
  if (bound === null || typeof bound !== 'object' || Array.isArray(bound)) {
    throw new TypeError(
      `${option} must be a keyset position, { after: [one value per sort key] } or { at: [values of the leading sort keys] }; received ${describeValue(bound)}`,
    )
  }
  const { after, at } = bound as { after?: unknown; at?: unknown }
  if ((after === undefined) === (at === undefined)) {
    throw new TypeError(
      `${option} must have exactly one of after (values of every sort key) or at (values of the leading sort keys); received ${describeValue(bound)}`,
    )
  }
  const kind = after !== undefined ? 'after' : 'at'
  const values = after ?? at
  if (!Array.isArray(values)) {
    throw new TypeError(`${option}.${kind} must be an array of sort key values; received ${describeValue(values)}`)
  }
  if (kind === 'after' ? values.length !== keys.length : values.length < 1 || values.length > keys.length) {
    const wanted =
      kind === 'after'
        ? `one value per sort key (${keys.length})`
        : `1 to ${keys.length} values, for the leading sort keys (${keys.map((k) => k.field).join(', ')})`
    throw new RangeError(`${option}.${kind} must have ${wanted}; received ${values.length} values`)
  }
  const prefix = keys.slice(0, values.length)
  prefix.forEach((key, i) => {
    const value: unknown = values[i]
    if (value === undefined)
      throw new TypeError(
        `${option}.${kind}[${i}] (the value of ${describeValue(key.field)}) is undefined; pass null for a NULL key value`,
      )
    if (value === null && key.nullable === false)
      throw new TypeError(
        `${option}.${kind}[${i}] is null, but sort key ${describeValue(key.field)} is declared nullable: false`,
      )
  })
  return { kind, values, prefix }
}

/** Every key equal to its value (`IS NULL` for a null). */
function equalTo(keys: readonly SortKey[], values: readonly unknown[]): SeekPredicate {
  return allOf(
    keys.map((key, i) =>
      values[i] === null
        ? { kind: 'isNull', field: key.field }
        : { kind: 'compare', field: key.field, op: '=', value: values[i] },
    ),
  )
}

/** The leading key's value at a bound: where its index range starts or stops. */
export function leadingValue(bound: KeysetBound): unknown {
  return ('after' in bound ? bound.after : bound.at)[0]
}

/**
 * The stretches of the leading key that hold the rows whose leading key lies at or after `lower`
 * and at or before `upper` in the ordering (`undefined`: open on that side; `null`: the NULL
 * region), in reading order: at most two, one for the values and one for the NULLs, ordered by
 * where the key puts its NULLs; none when nothing lies between. Adapters AND each one, in turn,
 * with the full condition (seek and range), which it only repeats in a form an index can start
 * and stop on; reading them in turn keeps the ORDER BY.
 *
 * `lower` is the leading value of where the read stands (the last row read, else the range's
 * `from`), `upper` that of the range's `to`: both ends are inclusive, since rows that share the
 * leading value with a bound may lie on either side of it.
 *
 * @example
 * ```ts
 * import { leadingKeyRanges } from '@batchyield/batch-core'
 *
 * const at = { field: 'published_at', direction: 'asc', nulls: 'last' } as const
 * leadingKeyRanges(at, new Date('2024-01-01'), undefined)
 * // [{ kind: 'values', atLeast: 2024-01-01 }, { kind: 'nulls' }]
 * leadingKeyRanges(at, new Date('2024-01-01'), new Date('2024-07-01'))
 * // [{ kind: 'values', atLeast: 2024-01-01, atMost: 2024-07-01 }]
 * ```
 */
export function leadingKeyRanges(key: SortKey, lower: unknown, upper: unknown): LeadingKeyRange[] {
  const nullable = key.nullable !== false
  const values = (from: unknown, to: unknown): LeadingKeyRange => {
    const [atLeast, atMost] = key.direction === 'asc' ? [from, to] : [to, from]
    return {
      kind: 'values',
      ...(atLeast === undefined ? {} : { atLeast }),
      ...(atMost === undefined ? {} : { atMost }),
    }
  }
  const nulls: LeadingKeyRange = { kind: 'nulls' }
  if (key.nulls === 'last') {
    // order: values, then NULLs
    if (lower === null) return upper === null || upper === undefined ? [nulls] : []
    if (upper === null || upper === undefined)
      return nullable ? [values(lower, undefined), nulls] : [values(lower, undefined)]
    return [values(lower, upper)]
  }
  // order: NULLs, then values
  if (upper === null) return lower === null || lower === undefined ? [nulls] : []
  if (lower === null || lower === undefined)
    return nullable ? [nulls, values(undefined, upper)] : [values(undefined, upper)]
  return [values(lower, upper)]
}

/** OR of the terms, without `false` ones; `false` when none is left. */
function anyOf(terms: readonly SeekPredicate[]): SeekPredicate {
  const kept = terms.filter((t) => t.kind !== 'false').flatMap((t) => (t.kind === 'or' ? t.terms : [t]))
  if (kept.length === 0) return FALSE
  return kept.length === 1 ? kept[0]! : { kind: 'or', terms: kept }
}

/** AND of the terms; `false` when any is. */
function allOf(terms: readonly SeekPredicate[]): SeekPredicate {
  if (terms.some((t) => t.kind === 'false')) return FALSE
  const flat = terms.flatMap((t) => (t.kind === 'and' ? t.terms : [t]))
  return flat.length === 1 ? flat[0]! : { kind: 'and', terms: flat }
}
