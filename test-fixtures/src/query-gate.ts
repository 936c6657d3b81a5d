import { connect } from '#src/connection'
import { dialectOf } from '#src/dialect'
import { terminateSessions } from '#src/sessions'

/**
 * A gate a test can shut in front of a running query, so a fault test kills a session that is provably in the
 * middle of a statement (a `pg_sleep` query may finish between "seen running" and "killed"). PostgreSQL only.
 *
 * Put {@link QueryGate.condition} in the query's WHERE: it is true for every row, but evaluating it waits while
 * the gate is shut. It takes and at once gives back a shared session-level advisory lock per row, so a reader
 * holds nothing between rows, even inside a transaction (a cursor's FETCH blocks just the same).
 *
 * @example
 * ```ts
 * await using gate = await openQueryGate(db.url)
 * for await (const books of qb.where(gate.condition).aiterator({ batchYieldSize: 20, chunkSize: 20 })) {
 *   await gate.killWaiting()                // the next chunk's query waits at the gate and is ended there
 * }
 * ```
 */
export interface QueryGate extends AsyncDisposable {
  /** A SQL boolean expression, true for every row, that waits while the gate is shut. */
  readonly condition: string
  /** Shuts the gate: statements that evaluate `condition` from now on wait. Waits for a row being let through. */
  shut(): Promise<void>
  /** Opens the gate: waiting statements go on. */
  open(): Promise<void>
  /** Backend pids of sessions waiting at the shut gate, once at least one does (or `[]` after `timeoutMs`). */
  waiting(timeoutMs?: number): Promise<number[]>
  /**
   * Shuts the gate and ends the sessions that wait at it within `timeoutMs` (a fault mid-statement);
   * returns their pids, `[]` if none came (a read that finished before the gate shut).
   */
  killWaiting(timeoutMs?: number): Promise<number[]>
  /** Opens the gate and closes its connection. */
  close(): Promise<void>
}

// Advisory locks are scoped to one database, and each test file has its own: one fixed key is enough.
const gateKey = 740_231_177

/** Opens a {@link QueryGate} on the PostgreSQL database `url` names; it starts open. */
export async function openQueryGate(url: string): Promise<QueryGate> {
  if (dialectOf(url) !== 'postgres') throw new Error(`openQueryGate: PostgreSQL only, got ${dialectOf(url)}`)
  const connection = await connect(url)
  let isShut = false
  const open = async (): Promise<void> => {
    if (!isShut) return
    isShut = false
    await connection.query('SELECT pg_advisory_unlock($1::bigint)', [gateKey])
  }
  const shut = async (): Promise<void> => {
    if (isShut) return
    await connection.query('SELECT pg_advisory_lock($1::bigint)', [gateKey])
    isShut = true
  }
  const waiting = async (timeoutMs = 10_000): Promise<number[]> => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      // a bigint key is locked as (classid = high 32 bits, objid = low 32 bits, objsubid = 1)
      const rows = await connection.query<{ pid: number }>(
        `SELECT pid FROM pg_locks
         WHERE locktype = 'advisory' AND NOT granted AND objsubid = 1 AND classid = 0 AND objid = $1::bigint::oid
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
         ORDER BY pid`,
        [gateKey],
      )
      if (rows.length > 0 || Date.now() >= deadline) return rows.map((row) => row.pid)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }
  const close = async (): Promise<void> => {
    try {
      await open()
    } finally {
      await connection.close()
    }
  }
  return {
    // CASE fixes the order: wait for the shared lock, then give it back at once.
    condition: `(CASE WHEN pg_advisory_lock_shared(${gateKey}::bigint) IS NULL THEN false ELSE pg_advisory_unlock_shared(${gateKey}::bigint) END)`,
    shut,
    open,
    waiting,
    async killWaiting(timeoutMs = 500) {
      await shut()
      const pids = await waiting(timeoutMs)
      return pids.length === 0 ? [] : terminateSessions(url, pids)
    },
    close,
    [Symbol.asyncDispose]: close,
  }
}
