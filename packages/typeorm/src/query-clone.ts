import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm'
import { copyFindOptionsState } from './internals.js'

/**
 * `qb.clone()` copies the expression map (joins, wheres, parameters, the query runner) but not
 * the find options, the relations that `relationLoadStrategy: 'query'` loads after the query, or
 * the eager-load chain. A clone that is executed must carry them too, or it would hydrate
 * differently from `getMany()` on the original.
 */
export function cloneQuery<E extends ObjectLiteral>(qb: SelectQueryBuilder<E>): SelectQueryBuilder<E> {
  const copy = qb.clone()
  copyFindOptionsState(qb, copy)
  return copy
}
