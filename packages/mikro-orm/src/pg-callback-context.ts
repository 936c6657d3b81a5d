import { cancelNodePostgresStatement, readsInTurns, waitFor } from '@batchyield/batch-core'
import type { EntityManager } from '@mikro-orm/core'
import { connectionHooks, kyselyOf, nativePgPool, pathsOf, pgPoolClients, pgProcessId, pgSocket } from './internals.js'

/** What MikroORM's `connection.execute(sql, params, method, ctx)` calls on its query context. */
export interface QueryContext {
  executeQuery(compiled: CompiledQuery, abort?: AbortOptions): Promise<{ rows: unknown[]; numAffectedRows?: bigint }>
}

interface CompiledQuery {
  readonly sql: string
  readonly parameters: readonly unknown[]
}

interface AbortOptions {
  readonly signal?: AbortSignal
  readonly inflightQueryAbortStrategy?: string
}

/** The parts of node-postgres used here (MikroORM's own `pg` pool, from `getNativeClient()`). */
export interface PgPool {
  connect(): Promise<PgClient>
}
export interface PgClient {
  query(text: string, values: unknown[], callback: (error: Error | null, result: { rows?: unknown[] }) => void): void
  /** Back to the pool; with an error, the pool closes the client instead. */
  release(error?: Error): void
  /** Its wire connection; `stream` is the socket. */
  readonly connection?: { readonly stream?: unknown }
  /** The server's process id for this connection (undocumented: checked before use). */
  readonly processID?: unknown
  end?(): Promise<void>
  on?(event: 'error', listener: (error: Error) => void): unknown
  removeListener?(event: 'error', listener: (error: Error) => void): unknown
}

/**
 * Takes `client` out of service for good: pg's pool closes a client released with an error and
 * never hands it out again. Its socket is destroyed too, since a graceful end waits on a
 * connection that may never answer (a black-holed network).
 */
export function destroyPgClient(client: PgClient): void {
  client.release(new Error('batchyield: this connection’s transaction end was not confirmed'))
  destroySocket(client)
}

/**
 * Ends a client that someone else (Kysely) will hand back to the pool: once ended, pg's pool drops
 * it on release instead of pooling it.
 */
export function endPgClient(client: PgClient): void {
  void client.end?.().catch(() => {})
  destroySocket(client)
}

function destroySocket(client: PgClient): void {
  const stream = pgSocket(client)
  if (typeof stream?.destroy === 'function') stream.destroy()
}

/**
 * The `pg` client behind a connection MikroORM (Kysely) holds, so that its statement can be
 * cancelled and the connection destroyed: the client of the backend `ctx` runs on (asked with
 * `pg_backend_pid()`), among the clients of the `pg` pool behind the connection (pg-pool's
 * `_clients`, undocumented: checked before use). Undefined when either is out of reach (a Kysely
 * instance or dialect passed in `driverOptions`): then nothing can be cancelled or destroyed.
 */
export async function pgClientOf(
  em: EntityManager,
  ctx: unknown,
  connectionType: 'read' | 'write',
): Promise<PgClient | undefined> {
  const pool = await nativePgPool(em, connectionType)
  const clients = pool === undefined ? undefined : pgPoolClients<PgClient>(pool)
  if (clients === undefined) return undefined
  const execute = (
    em.getDriver() as unknown as {
      execute(sql: string, params: unknown[], method: 'all', ctx: unknown): Promise<{ pid?: unknown }[]>
    }
  ).execute
  const [row] = await execute.call(em.getDriver(), 'select pg_backend_pid() as pid', [], 'all', ctx)
  const pid = Number(row?.pid)
  return clients.find((client) => pgProcessId(client) === pid)
}

/**
 * MikroORM's own `pg` pool, where taking a client from it is all that acquiring a connection
 * through Kysely does; undefined (use MikroORM's own execution) otherwise: not PostgreSQL, a Kysely
 * instance or dialect passed in `driverOptions`, `onCreateConnection` / `onReserveConnection`
 * hooks, `sessionContext: 'connection'`, read replicas.
 */
export async function mikroOrmPgPool(em: EntityManager): Promise<PgPool | undefined> {
  const driver = em.getDriver()
  const config = em.config
  // statements on the pool's clients stand in for MikroORM's own execution: only where that was tested
  if (pathsOf(em).pgCallback !== 'fast') return undefined
  if (!driver.getDependencies().includes('pg')) return undefined
  if (
    config.get('onCreateConnection' as never) !== undefined ||
    config.get('onReserveConnection' as never) !== undefined
  )
    return undefined
  if (config.get('sessionContext' as never) === 'connection') return undefined
  if (((config.get('replicas' as never) as unknown[] | undefined) ?? []).length > 0) return undefined
  if (connectionHooks(em)) return undefined
  return (await nativePgPool(em, 'write')) as PgPool | undefined
}

/**
 * A query context for plain chunk queries outside a transaction: MikroORM builds, logs and maps
 * the query as always, and only its last step (Kysely's `client.query(sql, params)`) runs on a
 * client of MikroORM's own `pg` pool ({@link mikroOrmPgPool}) through pg's callback API instead
 * of its promise API.
 *
 * Why: with the promise API each result stays reachable past the next young-generation GC, so
 * every chunk's rows are promoted to the old generation and left for full GCs (the same effect the
 * TypeORM keyset source avoids in `callback-query.ts`; bench/results/history.md).
 *
 * An abort (the run's signal, or `chunkTimeoutMs`) while the statement runs cancels it on the
 * server with PostgreSQL's cancel request for this client's own connection (batch-core's
 * `cancelNodePostgresStatement`), which also reaches the right server connection through PgBouncer:
 * Kysely's `'cancel query'` sends `pg_cancel_backend` of the client's process id, which through
 * PgBouncer is PgBouncer's key, not a server pid. An explicit `inflightQueryAbortStrategy` of
 * `'ignore query'` leaves the statement to finish; `'kill session'` runs through Kysely.
 */
export async function pgCallbackContext(em: EntityManager): Promise<QueryContext | undefined> {
  const pool = await mikroOrmPgPool(em)
  if (pool === undefined) return undefined
  return {
    async executeQuery(compiled, abort) {
      const strategy = abort?.inflightQueryAbortStrategy
      if (strategy === 'kill session') return kyselyOf<QueryContext>(em, 'write').executeQuery(compiled, abort) // ends the session, as MikroORM does
      const signal = abort?.signal
      signal?.throwIfAborted()
      const client = await pool.connect()
      if (signal?.aborted) {
        client.release()
        signal.throwIfAborted()
      }
      return runOnClient(client, compiled, signal, () => client.release(), strategy !== 'ignore query')
    },
  }
}

/**
 * The same for every statement of one client held by the caller (the cursor's own transaction):
 * `release` is the caller's. An abort lets the caller move on while the statement finishes on the
 * client, as Kysely's `'ignore query'`; the client runs the caller's next statement after it.
 */
export function heldClientContext(client: PgClient): QueryContext {
  return {
    executeQuery(compiled, abort) {
      abort?.signal?.throwIfAborted()
      return runOnClient(client, compiled, abort?.signal, () => {}, false)
    },
  }
}

/**
 * Runs one statement on `client`; `done` runs when it has finished (or failed), abort or not. Its
 * rows are parsed in turns of the event loop (batch-core's `readsInTurns`): a timer that falls due
 * waits for at most one more socket read, not for the whole chunk.
 *
 * With `cancelOnAbort`, an abort while the statement runs sends PostgreSQL's cancel request for it;
 * `done` (which hands the client back) then waits until the server has taken the request, so that
 * it cannot reach the client's next statement.
 */
async function runOnClient(
  client: PgClient,
  compiled: CompiledQuery,
  signal: AbortSignal | undefined,
  done: () => void,
  cancelOnAbort: boolean,
): Promise<{ rows: unknown[] }> {
  let running = true
  let cancelled: Promise<unknown> | undefined
  const onAbort = (): void => {
    if (running) cancelled = cancelNodePostgresStatement(client)
  }
  if (cancelOnAbort) signal?.addEventListener('abort', onAbort, { once: true })
  const result = new Promise<{ rows?: unknown[] }>((resolve, reject) => {
    readsInTurns(pgSocket(client) as Parameters<typeof readsInTurns>[0], (parsed) =>
      client.query(compiled.sql, [...compiled.parameters], (error, res) => {
        running = false
        signal?.removeEventListener('abort', onAbort)
        parsed()
        if (cancelled === undefined) done()
        else void cancelled.then(done)
        if (error) reject(error)
        else resolve(res)
      }),
    )
  })
  return { rows: (await waitFor(result, signal)).rows ?? [] }
}
