import { connect } from '#src/connection'
import { dialectOf } from '#src/dialect'

/** Another client's session on the same database, as the server sees it. */
export interface DatabaseSession {
  /** Backend pid (PostgreSQL) or connection id (MariaDB). */
  id: number
  /** 'active', 'idle', 'idle in transaction' (PostgreSQL's words; MariaDB's mapped onto them). */
  state: string
  /** True while the session has an open transaction (MariaDB: one InnoDB has started, i.e. after a first read or write). */
  inTransaction: boolean
  /** The statement running or last run, if the server tells. */
  query: string | null
}

/**
 * The other client sessions connected to the database `url` names (the caller's own connection excluded):
 * what a fault test checks afterwards for leaked connections or sessions left `idle in transaction`.
 *
 * @example
 * ```ts
 * expect((await listSessions(db.url)).filter((s) => s.inTransaction)).toEqual([])
 * ```
 */
export async function listSessions(url: string): Promise<DatabaseSession[]> {
  await using connection = await connect(url)
  if (dialectOf(url) === 'postgres') {
    const rows = await connection.query<{
      id: number
      state: string | null
      in_transaction: boolean
      query: string | null
    }>(
      `SELECT pid AS id, state, xact_start IS NOT NULL AS in_transaction, query
       FROM pg_stat_activity
       WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
       ORDER BY pid`,
    )
    return rows.map((row) => ({
      id: row.id,
      state: row.state ?? 'unknown',
      inTransaction: row.in_transaction,
      query: row.query,
    }))
  }
  // InnoDB serves information_schema.innodb_trx from a cache refreshed at most every 100 ms: waiting longer than
  // that after the caller's last change guarantees the snapshot we read was taken after it.
  await new Promise((resolve) => setTimeout(resolve, 120))
  const rows = await connection.query<{
    id: number | string
    command: string
    in_transaction: number | string
    query: string | null
  }>(
    `SELECT p.id, p.command, t.trx_id IS NOT NULL AS in_transaction, p.info AS query
     FROM information_schema.processlist AS p
     LEFT JOIN information_schema.innodb_trx AS t ON t.trx_mysql_thread_id = p.id
     WHERE p.db = database() AND p.id <> connection_id()
     ORDER BY p.id`,
  )
  return rows.map((row) => {
    const inTransaction = Number(row.in_transaction) === 1
    const idle = row.command === 'Sleep'
    return {
      id: Number(row.id),
      state: idle ? (inTransaction ? 'idle in transaction' : 'idle') : 'active',
      inTransaction,
      query: row.query,
    }
  })
}

/**
 * Ends other sessions on the database `url` names, as a crashed or killed backend would (PostgreSQL
 * `pg_terminate_backend`, MariaDB `KILL CONNECTION`): all of them, or only the ids given. Returns the ids ended.
 *
 * @example
 * ```ts
 * // mid-iteration, from the test: the iterator's connection dies under it
 * await terminateSessions(db.url)
 * ```
 */
export async function terminateSessions(url: string, ids?: readonly number[]): Promise<number[]> {
  const targets = (await listSessions(url))
    .map((session) => session.id)
    .filter((id) => ids === undefined || ids.includes(id))
  await using connection = await connect(url)
  const ended: number[] = []
  for (const id of targets) {
    if (dialectOf(url) === 'postgres') {
      // with a timeout it waits until the backend has exited, so a listing right after no longer shows it
      const [row] = await connection.query<{ ok: boolean }>('SELECT pg_terminate_backend($1, 10000) AS ok', [id])
      if (row?.ok) ended.push(id)
    } else {
      // It may have disconnected on its own since it was listed.
      const killed = await connection.query('KILL CONNECTION ?', [id]).then(
        () => true,
        () => false,
      )
      if (killed) ended.push(id)
    }
  }
  return ended
}
