import type { ObjectLiteral, QueryRunner, SelectQueryBuilder } from 'typeorm'
import { cloneQuery } from './query-clone.js'

/** The TypeORM 1.1 internals that `getMany()` runs after the query (protected in its typings). */
interface EntityExecution {
  loadRawResults(queryRunner: QueryRunner): Promise<unknown[]>
  executeEntitiesAndRawResults(queryRunner: QueryRunner): Promise<{ raw: unknown[]; entities: unknown[] }>
}

/**
 * Turns raw rows that `query`'s SQL returned into entities through TypeORM's own path, the one
 * `getMany()` takes: relation ids (extra queries on `queryRunner`), the raw-to-entity
 * transformer (column transformers, embeddeds, joined relations), relations loaded by
 * `relationLoadStrategy: 'query'` and `afterLoad` listeners. Only the SQL round trip is replaced
 * by the rows we already fetched.
 */
export async function hydrateRows<E extends ObjectLiteral>(query: SelectQueryBuilder<E>, queryRunner: QueryRunner, rows: readonly unknown[]): Promise<E[]> {
  const execution = cloneQuery(query) as unknown as EntityExecution & SelectQueryBuilder<E>
  execution.expressionMap.queryEntity = true
  execution.loadRawResults = async () => [...rows]
  const { entities } = await execution.executeEntitiesAndRawResults(queryRunner)
  return entities as E[]
}
