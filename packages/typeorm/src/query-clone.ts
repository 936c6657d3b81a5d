import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm'

/** The parts of a SelectQueryBuilder that `clone()` leaves behind (TypeORM 1.1 internals). */
interface FindOptionsState {
  findOptions: unknown
  relationMetadatas: unknown[]
  eagerLoadChain: Set<string>
}

/**
 * `qb.clone()` copies the expression map (joins, wheres, parameters, the query runner) but not
 * the find options, the relations that `relationLoadStrategy: 'query'` loads after the query, or
 * the eager-load chain. A clone that is executed must carry them too, or it would hydrate
 * differently from `getMany()` on the original.
 */
export function cloneQuery<E extends ObjectLiteral>(qb: SelectQueryBuilder<E>): SelectQueryBuilder<E> {
  const copy = qb.clone()
  const from = qb as unknown as FindOptionsState
  const to = copy as unknown as FindOptionsState
  to.findOptions = from.findOptions
  to.relationMetadatas = [...(from.relationMetadatas ?? [])]
  to.eagerLoadChain = new Set(from.eagerLoadChain ?? [])
  return copy
}
