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
  query(text: string, values: unknown[]): Promise<{ rows?: unknown[] }>
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

/** MikroORM's own `pg` pool, and how statements run on its clients. */
export interface PgPoolUse {
  readonly pool: PgPool
  /**
   * The fast path: pg's callback API, the rows parsed in turns of the event loop (see {@link runOnClient});
   * public paths: pg's promise API, as Kysely calls it.
   */
  readonly fast: boolean
}

/**
 * MikroORM's own `pg` pool, where taking a client from it is all that acquiring a connection
 * through Kysely does; undefined (use MikroORM's own execution) otherwise: not PostgreSQL, a Kysely
 * instance or dialect passed in `driverOptions` or no `getNativeClient()` (MikroORM before 7.2),
 * `onCreateConnection` / `onReserveConnection` hooks, `sessionContext: 'connection'`, read replicas.
 *
 * Also on the public paths: a statement on a client the adapter took is one an abort can cancel with
 * PostgreSQL's cancel request for that client (Kysely's `'cancel query'` is wrong through PgBouncer,
 * see {@link pgCallbackContext}); there it is sent through pg's promise API, as Kysely sends it.
 */
export async function mikroOrmPgPool(em: EntityManager): Promise<PgPoolUse | undefined> {
  const driver = em.getDriver()
  const config = em.config
  if (!driver.getDependencies().includes('pg')) return undefined
  if (
    config.get('onCreateConnection' as never) !== undefined ||
    config.get('onReserveConnection' as never) !== undefined
  )
    return undefined
  if (config.get('sessionContext' as never) === 'connection') return undefined
  if (((config.get('replicas' as never) as unknown[] | undefined) ?? []).length > 0) return undefined
  if (connectionHooks(em)) return undefined
  const pool = (await nativePgPool(em, 'write')) as PgPool | undefined
  // pg's callback API and the reads in turns stand in for MikroORM's own execution: only where that was tested
  return pool === undefined ? undefined : { pool, fast: pathsOf(em).pgCallback === 'fast' }
}

/**
 * A query context for keyset chunk statements outside a transaction: MikroORM builds, logs and maps
 * the query as always, and only its last step (Kysely's `client.query(sql, params)`) runs on a
 * client of MikroORM's own `pg` pool ({@link mikroOrmPgPool}), on the fast path through pg's
 * callback API instead of its promise API.
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
export async function pgCallbackContext(
  em: EntityManager,
  options: { readonly destroyAfterMs?: number } = {},
): Promise<QueryContext | undefined> {
  const use = await mikroOrmPgPool(em)
  if (use === undefined) return undefined
  const { pool, fast } = use
  const cancel = { destroyAfterMs: options.destroyAfterMs ?? CANCEL_WAIT_MS }
  return {
    async executeQuery(compiled, abort) {
      const strategy = abort?.inflightQueryAbortStrategy
      if (strategy === 'kill session') return kyselyOf<QueryContext>(em, 'write').executeQuery(compiled, abort) // ends the session, as MikroORM does
      const signal = abort?.signal
      signal?.throwIfAborted()
      // an abort while the pool hands out a client sends nothing; the client goes back once it comes
      const connecting = pool.connect()
      const client = await waitFor(connecting, signal).catch((error: unknown) => {
        void connecting.then(
          (late) => late.release(),
          () => {},
        )
        throw error
      })
      if (signal?.aborted) {
        client.release()
        signal.throwIfAborted()
      }
      const release = () => client.release()
      return runOnClient(client, compiled, signal, release, strategy === 'ignore query' ? undefined : cancel, fast)
    },
  }
}

/** How long batch-core's cancel request waits for the server (`cancelNodePostgresStatement`'s default). */
const CANCEL_WAIT_MS = 5000

/**
 * The same for every statement of one client held by the caller (the cursor's own transaction):
 * `release` is the caller's. A statement sent with a signal (a chunk's em.find) is cancelled when it
 * aborts, as the run ends: that transaction is the cursor's own, ended by it next. The client runs
 * the caller's next statement once the statement before has ended and a cancel sent for it is
 * through, so that the cancel cannot reach that one.
 */
export function heldClientContext(client: PgClient, fast: boolean): QueryContext {
  let free: Promise<void> = Promise.resolve()
  return {
    async executeQuery(compiled, abort) {
      abort?.signal?.throwIfAborted()
      await free
      let done!: () => void
      free = new Promise((resolve) => (done = resolve))
      // the cursor destroys a connection that does not answer: no destroy timer here
      return runOnClient(client, compiled, abort?.signal, done, {}, fast)
    },
  }
}

/**
 * Runs one statement on `client`; `done` runs when it has finished (or failed), abort or not. With
 * `fast`, through pg's callback API, its rows parsed in turns of the event loop (batch-core's
 * `readsInTurns`): a timer that falls due waits for at most one more socket read, not for the whole
 * chunk; otherwise through pg's promise API.
 *
 * With `cancel`, an abort while the statement runs sends PostgreSQL's cancel request for it; `done`
 * (which hands the client back) then waits until the server has taken the request, so that it cannot
 * reach the client's next statement. A statement still running `destroyAfterMs` (when given) after
 * the abort (a black-holed connection, where neither the cancel nor the answer gets through) has its
 * client destroyed instead of `done`: the pool's slot is freed and the client never handed out again.
 */
async function runOnClient(
  client: PgClient,
  compiled: CompiledQuery,
  signal: AbortSignal | undefined,
  done: () => void,
  cancel: { readonly destroyAfterMs?: number } | undefined,
  fast: boolean,
): Promise<{ rows: unknown[] }> {
  let running = true
  let cancelled: Promise<unknown> | undefined
  let destroyTimer: ReturnType<typeof setTimeout> | undefined
  let destroyed = false
  const onAbort = (): void => {
    if (!running || cancel === undefined) return
    cancelled = cancelNodePostgresStatement(client)
    if (cancel.destroyAfterMs === undefined) return
    destroyTimer = setTimeout(() => {
      if (!running) return
      destroyed = true
      destroyPgClient(client)
    }, cancel.destroyAfterMs)
  }
  if (cancel !== undefined) signal?.addEventListener('abort', onAbort, { once: true })
  const result = new Promise<{ rows?: unknown[] }>((resolve, reject) => {
    const settled = (error: Error | null, res: { rows?: unknown[] } | undefined): void => {
      running = false
      signal?.removeEventListener('abort', onAbort)
      clearTimeout(destroyTimer)
      if (destroyed) {
        // released with an error already: the pool has dropped it
      } else if (cancelled === undefined) done()
      else void cancelled.then(done)
      if (error) reject(error)
      else resolve(res ?? {})
    }
    const params = [...compiled.parameters]
    if (!fast) {
      client.query(compiled.sql, params).then(
        (res) => settled(null, res),
        (error: Error) => settled(error, undefined),
      )
      return
    }
    readsInTurns(pgSocket(client) as Parameters<typeof readsInTurns>[0], (parsed) =>
      client.query(compiled.sql, params, (error, res) => {
        parsed()
        settled(error, res)
      }),
    )
  })
  return { rows: (await waitFor(result, signal)).rows ?? [] }
}
