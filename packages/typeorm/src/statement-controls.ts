import { cancelNodePostgresStatement, type StatementBound } from '@batchyield/batch-core'
import type { DataSource } from 'typeorm'
import { nodePostgresClient, socketOf } from './internals.js'

/**
 * How to cancel the statement running on a pooled driver connection, and how to close that
 * connection when a cancel does not end it: node-postgres (a cancel request over a new connection;
 * closing the socket), mysql2 (`KILL QUERY` from another pooled connection; `destroy()`). Other
 * drivers: nothing (the statement runs to its end).
 */
export function statementControls(connection: unknown, dataSource: DataSource): StatementControls {
  const { cancel, destroy } = driverControls(connection, dataSource)
  // MariaDB's KILL QUERY takes another pooled connection, which a pool of one only has once this one is back
  const awaitsCancel = nodePostgresClient(connection) !== undefined
  let cancelling: Promise<unknown> | undefined
  return {
    cancel: () =>
      (cancelling ??= Promise.resolve()
        .then(cancel)
        .catch(() => {})),
    destroy,
    cancelSettled: async () => void (awaitsCancel ? await cancelling : undefined),
  }
}

/** {@link statementControls}' result: the cancel is sent at most once. */
export interface StatementControls extends Pick<StatementBound, 'cancel' | 'destroy'> {
  /**
   * Resolves once a PostgreSQL cancel request sent for this statement is through. A request sent as the statement
   * ends could reach the server after the connection went back to the pool and cancel whatever it runs
   * next: await this before the connection goes back.
   */
  cancelSettled(): Promise<void>
}

function driverControls(connection: unknown, dataSource: DataSource): Pick<StatementBound, 'cancel' | 'destroy'> {
  const client = nodePostgresClient(connection)
  if (client !== undefined) {
    return {
      cancel: () => cancelNodePostgresStatement(client),
      destroy: () => socketOf(client)?.destroy?.(),
    }
  }
  const mysql = connection as { threadId?: unknown; destroy?(): void } | undefined
  if (typeof mysql?.threadId === 'number') {
    const threadId = mysql.threadId
    return {
      // ends the statement, not the session
      cancel: () => dataSource.query('KILL QUERY ?', [threadId]).catch(() => {}),
      destroy: () => mysql.destroy?.(),
    }
  }
  return { cancel: () => {}, destroy: () => {} }
}
