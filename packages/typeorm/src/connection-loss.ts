/**
 * The server ended the session (PostgreSQL: SQLSTATE class 08 connection exception, 57P0x
 * shutdown, 25P03 idle-in-transaction timeout; MariaDB/MySQL: the connection was killed or
 * lost) or the socket closed under the query.
 */
export function isConnectionLoss(error: unknown): boolean {
  const driverError = (error as { driverError?: { code?: unknown; message?: unknown } } | undefined)?.driverError
  const code = typeof driverError?.code === 'string' ? driverError.code : ''
  const message = error instanceof Error ? error.message : ''
  return (
    /^(08|57P0)/.test(code) ||
    code === '25P03' ||
    code === 'PROTOCOL_CONNECTION_LOST' ||
    code === 'ER_CONNECTION_KILLED' ||
    /Connection terminated|Connection lost|connection is in closed state/i.test(message)
  )
}
