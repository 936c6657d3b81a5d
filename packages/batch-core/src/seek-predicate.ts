import type { SeekPredicate, SortKey } from './keyset-types.js'
import { assertOneOf, describeValue } from './validate.js'

const FALSE: SeekPredicate = { kind: 'false' }

/**
 * The condition for "rows strictly after the row whose key values are `lastValues`" in the
 * ordering `keys`, in the expanded form `k1 > x1 OR (k1 = x1 AND k2 > x2) OR …`. Row-value
 * comparison (`(k1, k2) > (x1, x2)`) is not used: it cannot express mixed directions or NULL
 * placement, and MariaDB/MySQL only use an index for the expanded form.
 *
 * Each key contributes "comes after x" as `k > x` (asc) or `k < x` (desc), plus `k IS NULL` when
 * NULLs sort last; after a NULL it is `k IS NOT NULL` when NULLs sort first and nothing when they
 * sort last. Equality on a NULL is `k IS NULL`. No term ever compares with NULL. Returns
 * `{ kind: 'false' }` when no row can come after.
 *
 * Throws TypeError/RangeError, naming the offending key, for an empty or malformed `keys`, a
 * `lastValues` of another length, an `undefined` value, or a null value for a `nullable: false` key.
 *
 * @example
 * ```ts
 * import { seekPredicate } from '@batchyield/batch-core'
 *
 * const p = seekPredicate(
 *   [
 *     { field: 'publishedAt', direction: 'desc', nulls: 'last' },
 *     { field: 'id', direction: 'asc', nulls: 'last', nullable: false },
 *   ],
 *   [new Date('2024-01-01'), 41],
 * )
 * // publishedAt < 2024-01-01 OR publishedAt IS NULL OR (publishedAt = 2024-01-01 AND id > 41)
 * console.log(JSON.stringify(p))
 * ```
 */
export function seekPredicate(keys: readonly SortKey[], lastValues: readonly unknown[]): SeekPredicate {
  assertSortKeys('keys', keys)
  if (!Array.isArray(lastValues)) {
    throw new TypeError(
      `lastValues must be an array with one value per sort key; received ${describeValue(lastValues)}`,
    )
  }
  if (lastValues.length !== keys.length) {
    throw new RangeError(
      `lastValues must have one value per sort key (${keys.length}); received ${lastValues.length} values`,
    )
  }
  assertKeyValues('lastValues', keys, lastValues)

  const disjuncts: SeekPredicate[] = []
  const equalities: SeekPredicate[] = []
  keys.forEach((key, i) => {
    const value = lastValues[i]
    const after = comesAfter(key, value)
    if (after.kind !== 'false') disjuncts.push(and([...equalities, after]))
    equalities.push(
      value === null ? { kind: 'isNull', field: key.field } : { kind: 'compare', field: key.field, op: '=', value },
    )
  })
  return or(disjuncts)
}

/** "This key's value comes strictly after `value`" for a single key. */
function comesAfter(key: SortKey, value: unknown): SeekPredicate {
  const nullable = key.nullable !== false
  if (value === null) return key.nulls === 'first' ? { kind: 'isNotNull', field: key.field } : FALSE
  const greater: SeekPredicate = { kind: 'compare', field: key.field, op: key.direction === 'asc' ? '>' : '<', value }
  return nullable && key.nulls === 'last' ? or([greater, { kind: 'isNull', field: key.field }]) : greater
}

function and(terms: readonly SeekPredicate[]): SeekPredicate {
  const flat = flatten('and', terms)
  return flat.length === 1 ? flat[0]! : { kind: 'and', terms: flat }
}

function or(terms: readonly SeekPredicate[]): SeekPredicate {
  const flat = flatten('or', terms)
  if (flat.length === 0) return FALSE
  return flat.length === 1 ? flat[0]! : { kind: 'or', terms: flat }
}

/** Inlines nested terms of the same kind: `a OR (b OR c)` becomes `a OR b OR c`. */
function flatten(kind: 'and' | 'or', terms: readonly SeekPredicate[]): SeekPredicate[] {
  return terms.flatMap((t) => (t.kind === kind ? t.terms : [t]))
}

/**
 * Checks an ordering: a non-empty array of `{ field, direction, nulls, nullable? }` with distinct
 * non-empty fields. `option` names the argument in messages.
 */
export function assertSortKeys(option: string, keys: unknown): asserts keys is readonly SortKey[] {
  if (!Array.isArray(keys)) {
    throw new TypeError(
      `${option} must be an array of sort keys ({ field, direction, nulls, nullable? }); received ${describeValue(keys)}`,
    )
  }
  if (keys.length === 0) {
    throw new RangeError(`${option} must contain at least one sort key (adapters append the primary key); received []`)
  }
  const seen = new Map<string, number>()
  keys.forEach((key: unknown, i) => {
    const at = `${option}[${i}]`
    if (key === null || typeof key !== 'object') {
      throw new TypeError(
        `${at} must be a sort key object { field, direction, nulls, nullable? }; received ${describeValue(key)}`,
      )
    }
    const { field, direction, nulls, nullable } = key as Record<string, unknown>
    if (typeof field !== 'string' || field === '') {
      throw new TypeError(`${at}.field must be a non-empty string; received ${describeValue(field)}`)
    }
    assertOneOf(`${at}.direction`, direction, ['asc', 'desc'])
    assertOneOf(`${at}.nulls`, nulls, ['first', 'last'])
    if (nullable !== undefined && typeof nullable !== 'boolean') {
      throw new TypeError(`${at}.nullable must be true, false or undefined; received ${describeValue(nullable)}`)
    }
    const earlier = seen.get(field)
    if (earlier !== undefined) {
      throw new RangeError(
        `${at}.field ${describeValue(field)} repeats ${option}[${earlier}]; each field may appear once in an ordering`,
      )
    }
    seen.set(field, i)
  })
}

/** Key values may be anything but undefined, and null only where the key is nullable. */
function assertKeyValues(option: string, keys: readonly SortKey[], values: readonly unknown[]): void {
  keys.forEach((key, i) => {
    const value = values[i]
    if (value === undefined) {
      throw new TypeError(
        `${option}[${i}] (the value of ${describeValue(key.field)}) is undefined; pass null for a NULL key value`,
      )
    }
    if (value === null && key.nullable === false) {
      throw new TypeError(
        `${option}[${i}] is null, but sort key ${describeValue(key.field)} is declared nullable: false`,
      )
    }
  })
}
