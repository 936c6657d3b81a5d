import { readsInTurns } from '@batchyield/batch-core'
import { type NodePostgresClient, nodePostgresClient, pgResultClass, type PgRowParser, socketOf } from './internals.js'

/** A raw row as node-postgres parses it: column alias to value. */
export type Row = Record<string, unknown>

/** Reads up to `rows` more rows of the cursor. */
export type PortalReader = (rows: number) => Promise<Row[]>

type ResultClass = new (rowMode?: string, types?: unknown) => PgRowParser

/**
 * Reads a `DECLARE`d cursor with the extended protocol's Execute message, which PostgreSQL
 * accepts for any open portal, instead of a `FETCH` statement. `FETCH` is a utility statement:
 * the server first stores all the rows it returns, then sends them, so the client parses
 * nothing until the whole chunk is read. Execute runs the portal itself and streams its rows
 * as they are read, so the server's scan and the client's row parsing overlap (the same way
 * pg-cursor reads its unnamed portal). Same rows, same text format, same type parsers as
 * `FETCH FORWARD n` through `queryRunner.query()`. The rows are parsed in turns of the event
 * loop (batch-core's `readsInTurns`), as in callback-query.ts.
 *
 * Returns undefined when `client` is not node-postgres's JavaScript client (pg-native, another
 * driver): the caller then sends `FETCH`.
 *
 * @example
 * ```ts
 * const read = portalReader(dataSource.driver, await queryRunner.connect(), 'my_cursor')
 * const rows = read ? await read(2000) : (await queryRunner.query('FETCH FORWARD 2000 FROM my_cursor', undefined, true)).records
 * ```
 */
export function portalReader(driver: unknown, client: unknown, portal: string): PortalReader | undefined {
  const Result = pgResultClass(driver)
  const pg = nodePostgresClient(client)
  if (Result === undefined || pg === undefined) return undefined
  return (rows) =>
    new Promise<Row[]>((resolve, reject) => {
      readsInTurns(socketOf(pg), (parsed) =>
        pg.query(
          new PortalExecution(Result, portal, rows, (error, read) => {
            parsed()
            if (error) reject(error)
            else resolve(read!)
          }),
        ),
      )
    })
}

/**
 * One Describe + Execute(`rows`) + Sync of a named portal, as a node-postgres "submittable"
 * (the interface `client.query()` drives: `submit()`, then one handler per server message).
 */
class PortalExecution {
  /** Named `_result` so that `client.query()` hands it the client's own type parsers. */
  readonly _result: PgRowParser
  private readonly rows: Row[] = []

  constructor(
    Result: ResultClass,
    private readonly portal: string,
    private readonly count: number,
    /** `client.query()` may wrap it (query_timeout). */
    public callback: (error: Error | undefined, rows?: Row[]) => void,
  ) {
    this._result = new Result()
  }

  submit(connection: NodePostgresClient['connection']): null {
    connection.stream?.cork?.()
    try {
      connection.describe({ type: 'P', name: this.portal }, true)
      connection.execute({ portal: this.portal, rows: this.count }, true)
      // In a transaction block, Sync ends this exchange without closing the (named) portal.
      connection.sync()
    } finally {
      connection.stream?.uncork?.()
    }
    return null
  }

  handleRowDescription(message: { fields: unknown[] }): void {
    this._result.addFields(message.fields)
  }

  handleDataRow(message: { fields: unknown[] }): void {
    this.rows.push(this._result.parseRow(message.fields) as Row)
  }

  /** The Sync is already sent: the server answers ReadyForQuery after an error too, which the client swallows. */
  handleError(error: Error): void {
    this.callback(error)
  }

  handleReadyForQuery(): void {
    this.callback(undefined, this.rows)
  }

  handlePortalSuspended(): void {}
  handleCommandComplete(): void {}
  handleEmptyQuery(): void {}
}
