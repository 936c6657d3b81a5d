/**
 * What a failed statement says about its connection, by the rules both adapters share (for
 * PostgreSQL through node-postgres, MariaDB/MySQL through mysql2, and the ORMs' wrappers of their
 * errors):
 *
 * - `'lost'`: the connection is gone. The server ended the session (SQLSTATE class 08, 57P0x
 *   shutdown or termination, 25P03 idle-in-transaction timeout; MariaDB/MySQL: the connection was
 *   killed, the server shut down or timed the client out), or the socket failed or closed under
 *   the statement (`ECONNRESET`, `EPIPE`, …; node-postgres "Connection terminated", "not
 *   queryable"; mysql2 "closed state").
 * - `'server'`: the server answered with an error (a SQLSTATE, e.g. a statement timeout or a
 *   cancel): the connection works, but a PostgreSQL transaction on it is now aborted.
 * - `'unknown'`: neither (a driver-side timeout such as pg's `query_timeout`, which gives up
 *   waiting while the statement may still run): nobody knows what state the connection is in.
 *
 * @example
 * ```ts
 * import { failureKind } from '@batchyield/batch-core'
 *
 * failureKind(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))       // 'lost'
 * failureKind(Object.assign(new Error('canceling statement'), { code: '57014', severity: 'ERROR' })) // 'server'
 * failureKind(new Error('Query read timeout'))                                          // 'unknown'
 * ```
 */
export type FailureKind = 'lost' | 'server' | 'unknown'

/**
 * How `error` (a driver's error, or an ORM's wrapper of one: TypeORM's `driverError`, MikroORM's
 * `DriverException`, any `cause`) leaves its connection; see {@link FailureKind}.
 *
 * @example
 * ```ts
 * import { failureKind } from '@batchyield/batch-core'
 *
 * if (failureKind(error) === 'lost') console.log('the connection is gone; the pool drops it')
 * ```
 */
export function failureKind(error: unknown): FailureKind {
  if (isConnectionLoss(error)) return 'lost'
  return sqlStateOf(error) === undefined ? 'unknown' : 'server'
}

/**
 * True when `error`, or an error it wraps, says the database connection is gone (see
 * {@link FailureKind}, `'lost'`). The rule both adapters use to tell a lost connection from a
 * failed statement: a keyset read may then be retried on another connection, a cursor run fails
 * with its "lost its database connection" error.
 *
 * @example
 * ```ts
 * import { isConnectionLoss } from '@batchyield/batch-core'
 *
 * isConnectionLoss(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })) // true
 * isConnectionLoss(Object.assign(new Error('division by zero'), { code: '22012' }))                                    // false
 * ```
 */
export function isConnectionLoss(error: unknown): boolean {
  return wrapped(error).some((candidate) => {
    const code = typeof candidate.code === 'string' ? candidate.code : ''
    const sqlState = sqlStateOfOne(candidate) ?? ''
    return LOST_SQLSTATE.test(sqlState) || LOST_CODES.has(code) || LOST_MESSAGE.test(candidate.message)
  })
}

/**
 * The SQLSTATE the server reported for `error` (or an error it wraps): node-postgres's `code` on
 * a server error (which carries a `severity`), mysql2's `sqlState`. Undefined for errors the
 * client made up itself (socket errors, driver timeouts).
 *
 * @example
 * ```ts
 * import { sqlStateOf } from '@batchyield/batch-core'
 *
 * sqlStateOf(Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014', severity: 'ERROR' })) // '57014'
 * sqlStateOf(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))                                          // undefined
 * ```
 */
export function sqlStateOf(error: unknown): string | undefined {
  for (const candidate of wrapped(error)) {
    const sqlState = sqlStateOfOne(candidate)
    if (sqlState !== undefined) return sqlState
  }
  return undefined
}

/** Server-reported states that end the session (PostgreSQL; MySQL's 08S01 too). */
const LOST_SQLSTATE = /^(08|57P0)|^25P03$/
/** Driver and socket codes of a connection that is gone. */
const LOST_CODES: ReadonlySet<string> = new Set([
  // mysql2 / MariaDB
  'PROTOCOL_CONNECTION_LOST',
  'ER_CONNECTION_KILLED',
  'ER_SERVER_SHUTDOWN',
  'ER_CLIENT_INTERACTION_TIMEOUT',
  // the socket under any driver
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTCONN',
])
/** What node-postgres and mysql2 say when they already know the connection is gone (these errors carry no code). */
const LOST_MESSAGE =
  /Connection terminated|Connection lost|connection is in closed state|not queryable|terminating connection/i

interface ErrorLike {
  readonly message: string
  readonly code?: unknown
  readonly sqlState?: unknown
  readonly severity?: unknown
}

function sqlStateOfOne(error: ErrorLike): string | undefined {
  if (typeof error.sqlState === 'string' && error.sqlState.length === 5) return error.sqlState
  // node-postgres puts the SQLSTATE in `code` and the server's severity beside it; a socket error's `code` has no severity
  if (typeof error.severity === 'string' && typeof error.code === 'string' && /^[0-9A-Z]{5}$/.test(error.code))
    return error.code
  return undefined
}

/** `error` and the errors it wraps (TypeORM's `driverError`, `cause`), a few levels deep. */
function wrapped(error: unknown): ErrorLike[] {
  const chain: ErrorLike[] = []
  let current: unknown = error
  while (current instanceof Error && chain.length < 4 && !chain.includes(current)) {
    chain.push(current)
    const inner = current as { driverError?: unknown; cause?: unknown }
    current = inner.driverError instanceof Error ? inner.driverError : inner.cause
  }
  return chain
}
