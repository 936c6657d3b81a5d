/**
 * The undocumented members of a node-postgres `Client` (pg/lib/client.js) a cancel request needs:
 * the backend's key (`processID`, `secretKey`, from the server's BackendKeyData), where it
 * connected (`connectionParameters`), and its class, whose constructor gives a wire `connection`
 * that can send a CancelRequest (the same steps as pg's own `Client.prototype.cancel`, which also
 * reads the deprecated `activeQuery`).
 */
export interface NodePostgresCancelTarget {
  readonly processID?: unknown
  readonly secretKey?: unknown
  readonly connectionParameters?: unknown
}

/** A new client's wire connection (pg/lib/connection.js), as used here. */
interface WireConnection {
  connect(port: unknown, host?: unknown): void
  cancel(processID: number, secretKey: number): void
  on(event: 'error', listener: () => void): unknown
  once(event: 'connect' | 'end', listener: () => void): unknown
  readonly stream?: { destroy?(): void }
}

/**
 * Sends PostgreSQL's cancel request for the statement running on `client` (a node-postgres
 * client) over a new connection to the same server, as `psql`'s Ctrl-C does: no login, and it works while `client`'s own connection is busy. Resolves
 * true once the server has taken the request (it closes that connection), false when `client`
 * is not node-postgres's JavaScript client (pg-native, another driver: these members are
 * undocumented, so each is checked and a missing one means no cancel, never a wrong one), when
 * the server cannot be reached, or after `timeoutMs`. Never rejects.
 *
 * The server cancels whatever statement the session runs when the request arrives, and ignores
 * it when the session is idle: send it only while the statement to cancel is in flight.
 *
 * @example
 * ```ts
 * import { cancelNodePostgresStatement } from '@batchyield/batch-core'
 *
 * const client = await pool.connect()
 * const slow = client.query('SELECT pg_sleep(60)')
 * await cancelNodePostgresStatement(client)
 * await slow.catch((error) => console.log(error.code)) // 57014: canceling statement due to user request
 * ```
 */
export function cancelNodePostgresStatement(client: unknown, timeoutMs = 5000): Promise<boolean> {
  const target = client as (NodePostgresCancelTarget & { readonly constructor?: unknown }) | undefined
  const params = target?.connectionParameters as { readonly host?: unknown; readonly port?: unknown } | undefined
  const { processID, secretKey } = target ?? {}
  if (
    typeof processID !== 'number' ||
    typeof secretKey !== 'number' ||
    params === undefined ||
    typeof target?.constructor !== 'function'
  )
    return Promise.resolve(false)
  let connection: WireConnection | undefined
  try {
    connection = new (target.constructor as new (config: unknown) => { connection?: WireConnection })(params).connection
  } catch {
    return Promise.resolve(false)
  }
  if (typeof connection?.connect !== 'function' || typeof connection.cancel !== 'function')
    return Promise.resolve(false)
  const wire = connection
  return new Promise<boolean>((resolve) => {
    const finish = (taken: boolean): void => {
      clearTimeout(timer)
      wire.stream?.destroy?.()
      resolve(taken)
    }
    const timer = setTimeout(() => finish(false), timeoutMs)
    wire.on('error', () => finish(false))
    wire.once('end', () => finish(true))
    wire.once('connect', () => wire.cancel(processID, secretKey))
    const { host, port } = params
    // a Unix-domain socket directory, as libpq and pg name it
    if (typeof host === 'string' && host.startsWith('/')) wire.connect(`${host}/.s.PGSQL.${String(port)}`)
    else wire.connect(port, host)
  })
}
