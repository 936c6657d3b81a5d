import { boundStatement, ChunkTimeoutError, readsInTurns } from '@batchyield/batch-core'
import { type ObjectLiteral, QueryFailedError, type QueryRunner, type SelectQueryBuilder } from 'typeorm'
import { dataSourceOf, nodePostgresClient, socketOf, typeormRawRows } from './internals.js'
import { statementControls } from './statement-controls.js'
import type { Row } from './portal-reader.js'

/**
 * The rows of `query`'s SQL on `queryRunner`, as `loadRawResults()` (what `getRawAndEntities()`
 * runs) reads them with `queryRunner.query()`, but sent through node-postgres's callback API
 * instead of the promise `queryRunner.query()` awaits: the same pg Query, rows, type parsers,
 * logging, slow-query log and `QueryFailedError`.
 *
 * Why: with the promise path each chunk's rows stay reachable past the next young-generation GC,
 * so V8 promotes them to the old space and leaves them for full GCs; with the callback path nothing
 * is promoted (bench/results/history.md).
 *
 * The rows are parsed in turns of the event loop (batch-core's `readsInTurns`): a timer that falls
 * due waits for at most one more socket read, not for the whole chunk.
 *
 * Anything else takes TypeORM's own path: another driver or pg-native, query subscribers
 * (they see every statement `queryRunner.query()` sends).
 */
export async function loadRawResults(
  query: SelectQueryBuilder<ObjectLiteral>,
  queryRunner: QueryRunner,
  signal?: AbortSignal,
  timeoutMs?: number,
): Promise<Row[]> {
  const dataSource = dataSourceOf(query)
  // the result cache needs no check: the adapter turns it off for its queries (query-plan.ts)
  const plain = dataSource.driver.options.type === 'postgres' && dataSource.subscribers.length === 0
  signal?.throwIfAborted()
  if (!plain || queryRunner.isReleased) return typeormRawRows(query, queryRunner)
  const client = nodePostgresClient(await queryRunner.connect())
  // the pool may have taken a while: after an abort, nothing new is sent
  signal?.throwIfAborted()
  if (client === undefined) return typeormRawRows(query, queryRunner)

  const [sql, parameters] = query.getQueryAndParameters()
  const { logger } = dataSource
  logger.logQuery(sql, parameters, queryRunner)
  const started = Date.now()
  const controls = statementControls(client, dataSource)
  try {
    // an abort while the query runs cancels it on the server, which ends it with an error
    const onAbort = (): void => void controls.cancel()
    signal?.addEventListener('abort', onAbort, { once: true })
    const statement = new Promise<Row[]>((resolve, reject) => {
      readsInTurns(socketOf(client), (parsed) =>
        client.query(sql, parameters, (error: Error | null, result: { rows: Row[] }) => {
          signal?.removeEventListener('abort', onAbort)
          parsed()
          if (error) reject(error)
          else resolve(result.rows)
        }),
      )
    })
    const rows = await boundStatement(statement, { timeoutMs, ...controls, what: "The keyset chunk's SELECT" })
    const took = Date.now() - started
    const slow = dataSource.driver.options.maxQueryExecutionTime
    if (slow && took > slow) logger.logQuerySlow(took, sql, parameters, queryRunner)
    return rows
  } catch (driverError) {
    logger.logQueryError(driverError as Error, sql, parameters, queryRunner)
    if (driverError instanceof ChunkTimeoutError) throw driverError
    throw new QueryFailedError(sql, parameters, driverError as Error)
  } finally {
    await controls.cancelSettled()
  }
}
