import type { SeekPredicate } from '@batchyield/batch-core'

/** A MikroORM `FilterQuery` object, built from property names only (values are bound as parameters). */
export type SeekFilter = Record<string, unknown>

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
export function toSeekFilter(predicate: SeekPredicate): SeekFilter {
  switch (predicate.kind) {
    case 'or':
      return { $or: predicate.terms.map(toSeekFilter) }
    case 'and':
      return { $and: predicate.terms.map(toSeekFilter) }
    case 'compare':
      return { [predicate.field]: { [OPERATORS[predicate.op]]: predicate.value } }
    case 'isNull':
      return { [predicate.field]: null }
    case 'isNotNull':
      return { [predicate.field]: { $ne: null } }
    case 'false':
      throw new TypeError('toSeekFilter(): a { kind: "false" } predicate has no filter form; nothing comes after the last row')
  }
}
