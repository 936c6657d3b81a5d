import { ConnectionException } from '@mikro-orm/core'

/**
 * A session ended by the server (SQLSTATE class 08, 57P01..57P03) or a client that already
 * knows its connection is gone (node-postgres: "not queryable", "Connection terminated";
 * mysql2: "closed state", PROTOCOL_CONNECTION_LOST).
 */
export function isConnectionLost(error: unknown): error is Error {
  if (!(error instanceof Error)) return false
  const code = String((error as { code?: unknown }).code ?? '')
  return /^08|^57P0[123]$|^PROTOCOL_CONNECTION_LOST$/.test(code) || /not queryable|Connection terminated|terminating connection|closed state/i.test(error.message)
}

/** A MikroORM `ConnectionException` with `message` (what was lost, what to do), the driver's code, and `error` as its `cause`. */
export function connectionLostError(error: Error, message: string): ConnectionException {
  const wrapped = new ConnectionException(Object.assign(new Error(message), { code: (error as { code?: unknown }).code }))
  wrapped.cause = error
  return wrapped
}
