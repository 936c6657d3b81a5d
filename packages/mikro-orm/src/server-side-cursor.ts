import { cancelNodePostgresStatement, type CursorConnection, CursorSession } from '@batchyield/batch-core'
import type { EntityManager, Transaction } from '@mikro-orm/core'
import {
  applySessionContext,
  controlPgPool,
  pgClientsSurviveTermination,
  knexClientOf,
  knexHeldContext,
  knexTransactionConnection,
  kyselyOf,
  transactionSessionContext,
} from './internals.js'
import {
  destroyPgClient,
  endPgClient,
  heldClientContext,
  mikroOrmPgPool,
  type PgClient,
  pgClientOf,
} from './pg-callback-context.js'

/**
 * A PostgreSQL server-side cursor driven by plain statements (`DECLARE … NO SCROLL CURSOR FOR`,
 * `FETCH FORWARD n`, then `COMMIT`, `ROLLBACK` or `CLOSE`) on one connection; when to send which,
 * and what to do with the connection afterwards, is batch-core's {@link CursorSession}.
 *
 * Why not `em.stream` (pg-cursor under Kysely): when the session is killed, pg-cursor's `close()`
 * waits forever for a reply that never comes (brianc/node-postgres#2642) and the loop hangs with
 * the connection checked out. Plain statements on a dead connection fail at once.
 *
 * Outside a transaction the cursor runs in its own read-only `REPEATABLE READ` transaction on a
 * connection held until {@link ServerSideCursor.close}; inside the caller's transaction it uses
 * that transaction (and leaves it open). Between fetches the connection is idle, so the same
 * transaction can run other queries, e.g. the chunk's entity queries.
 */
export interface ServerSideCursor {
  /** The transaction the cursor lives in: run the chunk's queries here to see the same snapshot. */
  readonly ctx: Transaction
  /** True when the cursor opened (and will end) its own transaction. */
  readonly ownsTransaction: boolean
  /** Up to `count` next rows; see {@link CursorSession.fetch} for abort and `chunkTimeoutMs`. */
  fetch(count: number, signal?: AbortSignal): Promise<Record<string, unknown>[]>
  /** The error that took the connection, once it is gone. */
  readonly lostConnection: unknown
  /** Ends the cursor and hands the connection back, or destroys it when its end is not confirmed. Idempotent. */
  close(): Promise<void>
}

/** What this needs from a SQL EntityManager (`@mikro-orm/sql`), typed structurally. */
interface SqlDriver {
  execute(sql: string, params: unknown[], method: 'all' | 'run', ctx?: Transaction): Promise<unknown>
  getConnection(type?: 'read' | 'write'): {
    ensureConnection(): Promise<void>
  }
}
interface KyselyLike {
  connection(): { execute<T>(work: (db: Transaction) => Promise<T>): Promise<T> }
}

/** How the cursor's connection is held: the statements' context, the raw pg client if reachable, and how to hand it back. */
interface Held {
  readonly ctx: Transaction
  readonly client: PgClient | undefined
  release(destroy: boolean): Promise<void>
}

let cursorCount = 0

/**
 * Declares a cursor for `query` (SQL with `?` placeholders and its parameters, as MikroORM's
 * query builder renders them). `em` gives the driver and, when it has one, the caller's
 * transaction. `chunkTimeoutMs` bounds each statement, `signal` aborts opening.
 *
 * @example
 * ```ts
 * const cursor = await openServerSideCursor(em, qb.toQuery())
 * try {
 *   for (let rows = await cursor.fetch(500); rows.length > 0; rows = await cursor.fetch(500)) console.log(rows.length)
 * } finally {
 *   await cursor.close()
 * }
 * ```
 */
export async function openServerSideCursor(
  em: EntityManager,
  query: { sql: string; params: readonly unknown[] },
  connectionType: 'read' | 'write' = 'read',
  options: { readonly chunkTimeoutMs?: number; readonly signal?: AbortSignal } = {},
): Promise<ServerSideCursor> {
  const driver = em.getDriver() as unknown as SqlDriver
  const name = em.getPlatform().quoteIdentifier(`batchyield_cursor_${++cursorCount}`)
  const callerTransaction = em.getTransactionContext<Transaction>()
  const ownsTransaction = callerTransaction === undefined
  options.signal?.throwIfAborted()

  let held: Held
  if (callerTransaction !== undefined) {
    // Only a timeout cancels a statement in the caller's transaction: find its client only then.
    const client =
      options.chunkTimeoutMs === undefined
        ? undefined
        : await callerClient(em, callerTransaction, connectionType).catch(() => undefined)
    held = { ctx: callerTransaction, client, release: async () => {} }
  } else {
    held = await holdConnection(em, driver, connectionType)
  }
  const { ctx, client } = held

  // the client's 'error' event: the connection died, possibly while no statement was running
  let lost: unknown
  let session: CursorSession<Record<string, unknown>> | undefined
  const onClientError = (error: Error): void => {
    lost ??= error
    session?.connectionLost(error)
  }
  client?.on?.('error', onClientError)

  const run = (sql: string, params: readonly unknown[] = []) =>
    driver.execute(sql, [...params], 'run', ctx).then(() => undefined)
  const connection: CursorConnection<Record<string, unknown>> = {
    async begin() {
      await run('begin transaction isolation level repeatable read read only')
      // em.find runs a read under the EntityManager's session context (row-level security: set_config
      // and role) in a short transaction of its own; the cursor's transaction carries it the same way
      const sessionContext = transactionSessionContext(em)
      if (sessionContext !== undefined)
        await applySessionContext(driver.getConnection(connectionType), ctx, sessionContext)
    },
    declare: () => run(`declare ${name} no scroll cursor for ${query.sql}`, query.params),
    fetch: async (count) =>
      (await driver.execute(`fetch forward ${count} from ${name}`, [], 'all', ctx)) as Record<string, unknown>[],
    closeCursor: () => run(`close ${name}`),
    commit: () => run('commit'),
    rollback: () => run('rollback'),
    ...(client === undefined ? {} : { cancel: async () => void (await cancelNodePostgresStatement(client)) }),
    async release(destroy) {
      client?.removeListener?.('error', onClientError)
      await held.release(destroy !== undefined)
    },
  }
  const opened = await CursorSession.open(connection, {
    ownsTransaction,
    chunkTimeoutMs: options.chunkTimeoutMs,
    signal: options.signal,
  })
  session = opened
  if (lost !== undefined) opened.connectionLost(lost)

  return {
    ctx,
    ownsTransaction,
    fetch: (count, signal) => {
      if (!Number.isSafeInteger(count) || count < 1)
        return Promise.reject(new RangeError(`fetch count must be a positive integer; received ${count}`))
      return opened.fetch(count, signal)
    },
    get lostConnection() {
      return opened.broken?.kind === 'lost' ? opened.broken.error : lost
    },
    close: () => opened.close(),
  }
}

/**
 * Holds one connection for the cursor's own transaction: a client of MikroORM's own `pg` pool
 * (on the fast path its statements through pg's callback API, see `pgCallbackContext`), or where MikroORM must
 * acquire connections itself (hooks, replicas), one held through Kysely until `release`, its pg
 * client looked up so that it can be cancelled and destroyed.
 */
async function holdConnection(em: EntityManager, driver: SqlDriver, connectionType: 'read' | 'write'): Promise<Held> {
  const connection = driver.getConnection(connectionType)
  // MikroORM's first query checks the server on a pooled connection: do it before holding one
  // (on a pool of one it would wait for the connection held here).
  await connection.ensureConnection()
  const knex = knexClientOf(em, connectionType)
  if (knex !== undefined) {
    // MikroORM 6.x: the connection is Knex's (a pg client of Knex's pool), held until release
    const client = (await knex.acquireConnection()) as PgClient
    return {
      ctx: knexHeldContext(knex, client) as Transaction,
      client,
      release: async (destroy) => {
        // Knex's pool validates a connection before handing it out again and drops an ended one
        if (destroy) endPgClient(client)
        await knex.releaseConnection(client)
      },
    }
  }
  const pg = await mikroOrmPgPool(em)
  if (pg !== undefined) {
    const client = await pg.pool.connect()
    return {
      ctx: heldClientContext(client, pg.fast) as unknown as Transaction,
      client,
      release: async (destroy) => (destroy ? destroyPgClient(client) : client.release()),
    }
  }
  // Kysely hands the connection back to the pool when `work` settles.
  let hold!: () => void
  const held = new Promise<void>((resolve) => (hold = resolve))
  let handedBack!: Promise<void>
  const ctx = await new Promise<Transaction>((resolve, reject) => {
    handedBack = kyselyOf<KyselyLike>(em, connectionType)
      .connection()
      .execute(async (db) => {
        resolve(db)
        await held
      })
      .catch(reject)
  })
  const client = await pgClientOf(em, ctx, connectionType).catch(() => undefined)
  // without its client (MikroORM 7.1: no pool handed out), the session's backend, to end it from outside;
  // not on 7.0, where ending it would crash the process (see pgClientsSurviveTermination)
  const pid =
    client === undefined && pgClientsSurviveTermination() ? await backendPid(em, ctx).catch(() => undefined) : undefined
  return {
    ctx,
    client,
    release: async (destroy) => {
      // ended first, the client is dropped by pg's pool when Kysely hands it back; unfound, its session is
      // terminated, or else it can only be handed back
      if (destroy && client !== undefined) endPgClient(client)
      else if (destroy && pid !== undefined) await terminateSession(em, connectionType, ctx, pid)
      hold()
      await handedBack.catch(() => {})
    },
  }
}

/** The server process of the session `ctx` runs on. */
async function backendPid(em: EntityManager, ctx: Transaction): Promise<number | undefined> {
  const [row] = await execute(em, 'select pg_backend_pid() as pid', [], ctx)
  const pid = Number((row as { pid?: unknown } | undefined)?.pid)
  return Number.isSafeInteger(pid) ? pid : undefined
}

/**
 * Ends a held session whose transaction end is not confirmed and whose pg client is out of reach:
 * `pg_terminate_backend` from a connection of its own (on a pool of one, MikroORM's only connection is
 * the held one), then waits (bounded) until the held connection has seen it, so that pg's pool drops
 * the client when Kysely hands it back instead of giving the next user a session still in the
 * cursor's read-only transaction. Unreachable (a black-holed network), the session is handed back as it is.
 */
async function terminateSession(
  em: EntityManager,
  type: 'read' | 'write',
  ctx: Transaction,
  pid: number,
): Promise<void> {
  const pool = controlPgPool(em, type, TERMINATE_TIMEOUT_MS)
  if (pool === undefined) return
  try {
    await pool.query('select pg_terminate_backend($1)', [pid])
  } catch {
    return
  } finally {
    void pool.end().catch(() => {})
  }
  let timer: NodeJS.Timeout | undefined
  await Promise.race([
    execute(em, 'select 1', [], ctx).catch(() => {}),
    new Promise((resolve) => (timer = setTimeout(resolve, TERMINATE_TIMEOUT_MS))),
  ])
  clearTimeout(timer)
}

const TERMINATE_TIMEOUT_MS = 2_000

function execute(em: EntityManager, sql: string, params: unknown[], ctx: Transaction): Promise<unknown[]> {
  const driver = em.getDriver() as unknown as {
    execute(sql: string, params: unknown[], method: 'all', ctx: unknown): Promise<unknown[]>
  }
  return driver.execute(sql, params, 'all', ctx)
}

/** The pg client the caller's transaction runs on: MikroORM 6.x's Knex transaction holds it, 7.x's is looked up in the pool. */
async function callerClient(
  em: EntityManager,
  ctx: Transaction,
  connectionType: 'read' | 'write',
): Promise<PgClient | undefined> {
  const held = await knexTransactionConnection(ctx)
  if (held !== undefined) return held as PgClient
  return pgClientOf(em, ctx, connectionType)
}
