import type { EntityManager, Transaction } from '@mikro-orm/core'
import { heldClientContext, mikroOrmPgPool } from './pg-callback-context.js'

/**
 * A PostgreSQL server-side cursor driven by plain statements (`DECLARE … NO SCROLL CURSOR FOR`,
 * `FETCH FORWARD n`, `CLOSE`) on one connection.
 *
 * Why not `em.stream` (pg-cursor under Kysely): when the session is killed, pg-cursor's `close()`
 * waits forever for a reply that never comes (brianc/node-postgres#2642) and the loop hangs with
 * the connection checked out. Plain statements on a dead connection fail at once, and the
 * connection is handed back through a `finally`, so the pool drops it and recovers.
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
  /** Up to `count` next rows. */
  fetch(count: number, signal?: AbortSignal): Promise<Record<string, unknown>[]>
  /** Closes the cursor, ends its own transaction and hands the connection back, whatever fails. Idempotent. */
  close(): Promise<void>
}

/** What this needs from a SQL EntityManager (`@mikro-orm/sql`), typed structurally. */
interface SqlDriver {
  execute(sql: string, params: unknown[], method: 'all' | 'run', ctx?: Transaction, loggerContext?: { signal?: AbortSignal }): Promise<unknown>
  getConnection(type?: 'read' | 'write'): {
    getClient(): KyselyLike
    ensureConnection(): Promise<void>
    applySessionContext(trx: Transaction, sessionContext: object): Promise<void>
  }
}
interface KyselyLike {
  connection(): { execute<T>(work: (db: Transaction) => Promise<T>): Promise<T> }
}

let cursorCount = 0

/**
 * Declares a cursor for `query` (SQL with `?` placeholders and its parameters, as MikroORM's
 * query builder renders them). `em` gives the driver and, when it has one, the caller's
 * transaction.
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
export async function openServerSideCursor(em: EntityManager, query: { sql: string; params: readonly unknown[] }, connectionType: 'read' | 'write' = 'read'): Promise<ServerSideCursor> {
  const driver = em.getDriver() as unknown as SqlDriver
  const name = em.getPlatform().quoteIdentifier(`batchyield_cursor_${++cursorCount}`)
  const callerTransaction = em.getTransactionContext<Transaction>()

  let ctx: Transaction
  let release = (): Promise<void> => Promise.resolve()
  if (callerTransaction !== undefined) {
    ctx = callerTransaction
  } else {
    const connection = driver.getConnection(connectionType)
    // MikroORM's first query checks the server on a pooled connection: do it before holding one
    // (on a pool of one it would wait for the connection held here).
    await connection.ensureConnection()
    const pool = await mikroOrmPgPool(em)
    if (pool !== undefined) {
      // One client of MikroORM's pool held until close(), its statements run through pg's callback
      // API (see pgCallbackContext); MikroORM still logs them. pg's pool drops a dead client.
      const client = await pool.connect()
      ctx = heldClientContext(client) as unknown as Transaction
      release = async () => client.release()
    } else {
      // Hold one connection until close(): Kysely hands it back to the pool when `work` settles,
      // even when the connection died, and pg's pool then drops a dead one.
      let hold!: () => void
      const held = new Promise<void>((resolve) => (hold = resolve))
      let handedBack!: Promise<void>
      ctx = await new Promise<Transaction>((resolve, reject) => {
        handedBack = connection
          .getClient()
          .connection()
          .execute(async (db) => {
            resolve(db)
            await held
          })
          .catch(reject)
      })
      release = () => {
        hold()
        return handedBack
      }
    }
    try {
      await driver.execute('begin transaction isolation level repeatable read read only', [], 'run', ctx)
      // em.find runs a read under the EntityManager's session context (row-level security: set_config
      // and role) in a short transaction of its own; the cursor's transaction carries it the same way
      const sessionContext = em.getTransactionSessionContext()
      if (sessionContext !== undefined) await connection.applySessionContext(ctx, sessionContext)
    } catch (error) {
      // the connection goes back to the pool: not inside a transaction (after a failed BEGIN this only warns)
      await driver.execute('rollback', [], 'run', ctx).catch(() => {})
      await release()
      throw error
    }
  }

  const ownsTransaction = callerTransaction === undefined
  let closing: Promise<void> | undefined
  const close = async (): Promise<void> => {
    try {
      // Own transaction: ending it closes the cursor. Caller's transaction: close only the cursor.
      await driver.execute(ownsTransaction ? 'commit' : `close ${name}`, [], 'run', ctx)
    } finally {
      await release()
    }
  }

  try {
    await driver.execute(`declare ${name} no scroll cursor for ${query.sql}`, [...query.params], 'run', ctx)
  } catch (error) {
    await (ownsTransaction ? driver.execute('rollback', [], 'run', ctx) : Promise.resolve()).catch(() => {})
    await release()
    throw error
  }

  return {
    ctx,
    ownsTransaction,
    async fetch(count, signal) {
      if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`fetch count must be a positive integer; received ${count}`)
      return (await driver.execute(`fetch forward ${count} from ${name}`, [], 'all', ctx, signal ? { signal } : undefined)) as Record<string, unknown>[]
    },
    close() {
      return (closing ??= close())
    },
  }
}
