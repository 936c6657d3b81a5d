/**
 * What the soak (`npm run soak`) checks, and the checks themselves: every iteration saw every row of
 * `events` exactly once, the shared pool ended idle, and no session of the soak was left busy or inside a
 * transaction. Kept apart from the runner so the tests can show each check failing.
 */
import pg from 'pg'

export type SoakAdapter = 'typeorm' | 'mikro-orm'
export type SoakStrategy = 'keyset' | 'cursor'

/** What the parent asks one soak child process to run. */
export interface SoakRequest {
  adapter: SoakAdapter
  strategy: SoakStrategy
  url: string
  /** Iterations run at once over the whole table, all on one pool. */
  concurrency: number
  /** Most connections of the one pool. */
  poolMax: number
  chunkSize: number
  batchYieldSize: number
  /** `application_name` of the pool's sessions: how `pg_stat_activity` tells them from everyone else's. */
  applicationName: string
}

/** What the table holds, read before the soak: every iteration must see exactly this. */
export interface TableTotals {
  count: number
  /** `sum(id)` as a decimal string (exact whatever its size). */
  idSum: string
  minId: number
  maxId: number
}

/** What one iteration saw. */
export interface IterationTally {
  rows: number
  batches: number
  idSum: string
  /** Ids seen more than once (each repeat counts). */
  duplicates: number
  /** Ids outside [minId, maxId] or not integers. */
  outOfRange: number
  /** Rows of the table the iteration never saw. */
  missing: number
}

export interface IterationResult extends IterationTally {
  /** From the moment all iterations started to this one's first batch, and to its end. */
  firstBatchMs: number
  wallMs: number
  /** Set when the loop threw: its message. */
  error?: string
}

/** node-postgres' pool counters, as `pg.Pool` exposes them. */
export interface PgPoolCounters {
  readonly totalCount: number
  readonly idleCount: number
  readonly waitingCount: number
}

export interface PoolCounts {
  total: number
  idle: number
  waiting: number
}

/** A session of the soak's pool as `pg_stat_activity` shows it. */
export interface SoakSession {
  pid: number
  state: string
  inTransaction: boolean
  query: string
}

/** What one soak child process measured and observed, printed as its result line. */
export interface SoakResult {
  adapter: SoakAdapter
  strategy: SoakStrategy
  concurrency: number
  poolMax: number
  applicationName: string
  totals: TableTotals
  iterations: IterationResult[]
  /** From starting the iterations until the last one ended. */
  wallMs: number
  /** User + system CPU time of the process over the same span. */
  cpuMs: number
  /** Garbage-collection pause time over the same span (`PerformanceObserver` 'gc' entries). */
  gcMs: number
  /** The kernel's peak RSS of the process (Node, the ORM, the pool and every iteration together). */
  maxRssBytes: number
  sampledPeakRssBytes: number
  /** RSS after connecting and the warm-up query, before the iterations. */
  setupRssBytes: number
  /** Most connections open, and most callers waiting for one, seen while the iterations ran (sampled). */
  poolPeak: { total: number; waiting: number }
  /** The pool once the iterations ended (waited for up to a few seconds to settle); `settledAfterMs` null if it never did. */
  poolAtEnd: PoolCounts & { settledAfterMs: number | null }
  /** Sessions with the soak's `application_name`, read after the pool settled, before closing it. */
  sessionsAtEnd: SoakSession[]
  /** The same, after closing the pool (waited for up to a few seconds): must be none. */
  sessionsAfterClose: SoakSession[]
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  // Its own application_name, so the checker never counts itself among the soak's sessions.
  const client = new pg.Client({ connectionString: url, application_name: 'batchyield-soak-check' })
  await client.connect()
  try {
    return await work(client)
  } finally {
    await client.end()
  }
}

/**
 * Row count, `sum(id)`, lowest and highest id of `events`.
 *
 * @example
 * const totals = await readTableTotals(url) // { count: 1000000, idSum: '500000500000', minId: 1, maxId: 1000000 }
 */
export async function readTableTotals(url: string): Promise<TableTotals> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ count: string; sum: string | null; min: string | null; max: string | null }>(
      'SELECT count(*) AS count, sum(id) AS sum, min(id) AS min, max(id) AS max FROM events',
    )
    const row = rows[0]!
    return {
      count: Number(row.count),
      idSum: row.sum ?? '0',
      minId: Number(row.min ?? 0),
      maxId: Number(row.max ?? -1),
    }
  })
}

/**
 * Counts what one iteration sees and proves each row came exactly once: a bitset over [minId, maxId]
 * catches repeats, so no repeats + as many distinct ids as the table has rows = every row once; the count
 * and `sum(id)` are compared too.
 *
 * @example
 * const tally = new IdTally(await readTableTotals(url))
 * for await (const batch of qb.aiterator({ batchYieldSize: 500 })) tally.add(batch)
 * tallyProblems(tally.result(), totals) // [] when every row came exactly once
 */
export class IdTally {
  readonly #totals: TableTotals
  readonly #seen: Uint32Array
  #rows = 0
  #batches = 0
  #distinct = 0
  #duplicates = 0
  #outOfRange = 0
  #idSum = 0n

  constructor(totals: TableTotals) {
    this.#totals = totals
    this.#seen = new Uint32Array(Math.ceil(Math.max(0, totals.maxId - totals.minId + 1) / 32))
  }

  /** Records one batch of entities (ids as the ORMs hydrate a bigint: strings, or numbers). */
  add(batch: readonly { id: string | number | bigint }[]): void {
    this.#batches += 1
    this.#rows += batch.length
    // Summed as a Number within the batch (exact far beyond any batch of real ids), as a BigInt across them.
    let batchSum = 0
    for (const entity of batch) {
      const id = Number(entity.id)
      const offset = id - this.#totals.minId
      if (!Number.isSafeInteger(id) || offset < 0 || id > this.#totals.maxId) {
        this.#outOfRange += 1
        continue
      }
      const mask = 1 << (offset & 31)
      const word = offset >>> 5
      if (this.#seen[word]! & mask) this.#duplicates += 1
      else {
        this.#seen[word]! |= mask
        this.#distinct += 1
      }
      batchSum += id
    }
    this.#idSum += BigInt(batchSum)
  }

  result(): IterationTally {
    return {
      rows: this.#rows,
      batches: this.#batches,
      idSum: this.#idSum.toString(),
      duplicates: this.#duplicates,
      outOfRange: this.#outOfRange,
      missing: this.#totals.count - this.#distinct,
    }
  }
}

/** Why one iteration did not see every row exactly once; empty when it did. */
export function tallyProblems(tally: IterationTally, totals: TableTotals): string[] {
  const problems: string[] = []
  if (tally.rows !== totals.count) problems.push(`read ${tally.rows} rows, the table holds ${totals.count}`)
  if (tally.duplicates) problems.push(`${tally.duplicates} row(s) more than once`)
  if (tally.outOfRange) problems.push(`${tally.outOfRange} id(s) outside ${totals.minId}..${totals.maxId}`)
  if (tally.missing) problems.push(`${tally.missing} row(s) never seen`)
  if (tally.idSum !== totals.idSum) problems.push(`sum(id) ${tally.idSum}, the table's is ${totals.idSum}`)
  return problems
}

/** The counters of a `pg.Pool`. */
export function poolCounts(pool: PgPoolCounters): PoolCounts {
  return { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }
}

/**
 * Waits (up to `timeoutMs`) until every connection of the pool is idle and nobody waits for one. A query
 * whose result the loop no longer needs may still be finishing when the loop ends; a leaked connection
 * never comes back, so the wait is bounded and the final counts are reported either way.
 *
 * @example
 * const end = await waitForIdlePool(dataSource.driver.master) // { total: 8, idle: 8, waiting: 0, settledAfterMs: 0 }
 */
export async function waitForIdlePool(pool: PgPoolCounters, timeoutMs = 3000): Promise<SoakResult['poolAtEnd']> {
  const started = Date.now()
  for (;;) {
    const counts = poolCounts(pool)
    if (counts.idle === counts.total && counts.waiting === 0) return { ...counts, settledAfterMs: Date.now() - started }
    if (Date.now() - started > timeoutMs) return { ...counts, settledAfterMs: null }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/**
 * The sessions of the database `url` names whose `application_name` is `applicationName`, from a separate
 * connection.
 *
 * @example
 * await listApplicationSessions(url, 'batchyield-soak-4242-typeorm') // [{ pid: 812, state: 'idle', inTransaction: false, query: 'SELECT …' }]
 */
export async function listApplicationSessions(url: string, applicationName: string): Promise<SoakSession[]> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{
      pid: number
      state: string | null
      in_transaction: boolean
      query: string | null
    }>(
      `SELECT pid, state, xact_start IS NOT NULL AS in_transaction, query
       FROM pg_stat_activity
       WHERE datname = current_database() AND application_name = $1
       ORDER BY pid`,
      [applicationName],
    )
    return rows.map((row) => ({
      pid: row.pid,
      state: row.state ?? 'unknown',
      inTransaction: row.in_transaction,
      query: row.query ?? '',
    }))
  })
}

/** Polls {@link listApplicationSessions} until none is left or `timeoutMs` passes; returns what is left. */
export async function waitForNoSessions(
  url: string,
  applicationName: string,
  timeoutMs = 5000,
): Promise<SoakSession[]> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const sessions = await listApplicationSessions(url, applicationName)
    if (sessions.length === 0 || Date.now() > deadline) return sessions
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** Sessions that are not plainly idle: running a statement, or idle inside a transaction. */
export function busySessions(sessions: readonly SoakSession[]): SoakSession[] {
  return sessions.filter((session) => session.state !== 'idle' || session.inTransaction)
}

const describeSession = (s: SoakSession) =>
  `pid ${s.pid} ${s.state}${s.inTransaction && !s.state.includes('transaction') ? ' (in a transaction)' : ''}: ${s.query.replace(/\s+/g, ' ').slice(0, 80)}`

/**
 * Every check of one soak run that failed, in words; empty when the run passed.
 *
 * @example
 * const failures = soakFailures(result)
 * if (failures.length) process.exitCode = 1
 */
export function soakFailures(result: SoakResult): string[] {
  const failures: string[] = []
  if (result.iterations.length !== result.concurrency)
    failures.push(`${result.iterations.length} iterations ran, ${result.concurrency} were asked for`)
  result.iterations.forEach((iteration, i) => {
    if (iteration.error !== undefined) failures.push(`iteration ${i + 1} threw: ${iteration.error}`)
    for (const problem of tallyProblems(iteration, result.totals)) failures.push(`iteration ${i + 1}: ${problem}`)
  })
  const pool = result.poolAtEnd
  if (pool.idle !== pool.total || pool.waiting !== 0) {
    failures.push(`pool not idle at the end: ${pool.total} open, ${pool.idle} idle, ${pool.waiting} waiting`)
  }
  if (result.poolPeak.total > result.poolMax)
    failures.push(`pool opened ${result.poolPeak.total} connections, more than its max ${result.poolMax}`)
  for (const session of busySessions(result.sessionsAtEnd))
    failures.push(`session left busy: ${describeSession(session)}`)
  // Without this, a pool whose sessions never got the application_name would pass the session check unseen.
  if (result.sessionsAtEnd.length === 0 && pool.total > 0) {
    failures.push(
      `no session named ${result.applicationName} in pg_stat_activity while the pool holds ${pool.total} connection(s)`,
    )
  }
  for (const session of result.sessionsAfterClose)
    failures.push(`session still connected after the pool closed: ${describeSession(session)}`)
  return failures
}
