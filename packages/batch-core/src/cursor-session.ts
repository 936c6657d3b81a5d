import { failureKind } from './connection-loss.js'
import { ChunkTimeoutError } from './errors.js'
import { TIMED_OUT, waitFor } from './wait-for.js'

/**
 * The statements of a PostgreSQL server-side cursor on one connection, as an adapter sends them
 * with its ORM or driver. {@link CursorSession} decides which to send when; each method sends its
 * statement(s) and settles when the database has answered.
 */
export interface CursorConnection<Row> {
  /** Starts the cursor's own transaction: read only, REPEATABLE READ (only called when the session owns the transaction). */
  begin(): Promise<void>
  /** `DECLARE <name> NO SCROLL CURSOR FOR <query>` (and anything to do right after it, such as a `MOVE`). */
  declare(): Promise<void>
  /** `FETCH FORWARD count` (or the protocol's Execute of the cursor): the next rows, fewer only at the end. */
  fetch(count: number): Promise<Row[]>
  /** `CLOSE <name>`: ends the cursor inside the caller's transaction, which goes on. */
  closeCursor(): Promise<void>
  commit(): Promise<void>
  rollback(): Promise<void>
  /**
   * Asks the server, from another connection, to cancel the statement running on this one
   * (PostgreSQL's cancel request, or `pg_cancel_backend(pid)`). Settles once asked; it need not
   * succeed. Leave it out where the driver cannot: the session then waits for the statement.
   */
  cancel?(): Promise<void>
  /**
   * Hands the connection back. With `destroy`, its state is unknown (a transaction that may still
   * be open, a statement that may still run): close it and never hand it to anyone again (e.g.
   * node-postgres's `client.release(error)`). A connection the caller owns is left to the caller.
   */
  release(destroy: { readonly reason: unknown } | undefined): Promise<void> | void
}

/**
 * How a {@link CursorSession} runs.
 *
 * @example
 * ```ts
 * const options: CursorSessionOptions = { ownsTransaction: true, chunkTimeoutMs: 30_000, signal }
 * ```
 */
export interface CursorSessionOptions {
  /** True when the session starts and ends the transaction; false inside the caller's transaction, which it leaves open. */
  readonly ownsTransaction: boolean
  /** The longest any one statement may take (the option of the same name); on expiry it is cancelled and the run fails with a {@link ChunkTimeoutError}. */
  readonly chunkTimeoutMs?: number
  /** After a cancel, how long to wait for the statement to end before the connection is destroyed. Default: `chunkTimeoutMs`, else {@link DEFAULT_CANCEL_WAIT_MS}. */
  readonly cancelWaitMs?: number
  /** Aborts opening (BEGIN, DECLARE). */
  readonly signal?: AbortSignal
}

/**
 * After a cancel request, how long the session waits for the statement to end (when
 * `chunkTimeoutMs` is not set) before it gives the connection up as unreachable and destroys it.
 */
export const DEFAULT_CANCEL_WAIT_MS = 5000

/**
 * One PostgreSQL server-side cursor on one connection, from `BEGIN` to its end: the policy both
 * adapters share. The adapter renders the statements ({@link CursorConnection}); the session
 * decides:
 *
 * - One statement at a time. Once the run stops (abort, a timeout, `close()`), no new FETCH is
 *   sent, and a statement still running is cancelled on the server (in the session's own
 *   transaction; in the caller's, cancelling would abort the caller's transaction, so the
 *   statement is left to finish).
 * - `chunkTimeoutMs` bounds every statement: on expiry the statement is cancelled and the run
 *   fails with a {@link ChunkTimeoutError} at once, without waiting for the cancel to land.
 * - The end is `COMMIT` when every statement succeeded, `ROLLBACK` after a server error or a
 *   cancel, `CLOSE` in the caller's transaction. The connection goes back to the pool only when
 *   the end is confirmed. When it is not (the connection was lost, a statement failed without
 *   the server's word, such as pg's `query_timeout`, or did not end after a cancel, or the
 *   `COMMIT`/`ROLLBACK` itself failed), no statement is sent and the connection is destroyed: a
 *   pooled connection still in the cursor's read-only transaction would serve its next user a
 *   stale snapshot, and then nothing but errors.
 * - Connection loss is told apart by batch-core's rules ({@link failureKind}).
 *
 * @example
 * ```ts
 * import { CursorSession, type CursorConnection } from '@batchyield/batch-core'
 *
 * const client = await pool.connect()
 * const connection: CursorConnection<Row> = {
 *   begin: () => run('START TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY'),
 *   declare: () => run('DECLARE c NO SCROLL CURSOR FOR SELECT * FROM books ORDER BY id'),
 *   fetch: async (count) => (await client.query(`FETCH FORWARD ${count} FROM c`)).rows,
 *   closeCursor: () => run('CLOSE c'),
 *   commit: () => run('COMMIT'),
 *   rollback: () => run('ROLLBACK'),
 *   release: (destroy) => client.release(destroy === undefined ? undefined : new Error('discarded')),
 * }
 * const session = await CursorSession.open(connection, { ownsTransaction: true, chunkTimeoutMs: 30_000 })
 * try {
 *   for (let rows = await session.fetch(500, signal); rows.length > 0; rows = await session.fetch(500, signal)) console.log(rows.length)
 * } finally {
 *   await session.close()
 * }
 * ```
 */
export class CursorSession<Row> {
  readonly #connection: CursorConnection<Row>
  readonly #options: CursorSessionOptions
  #state: SessionState = { kind: 'open' }
  /** The statement in flight, if any. */
  #running: Running | undefined
  #declared = false
  /** The cancel request, once one was sent: the end waits for it and rolls back. */
  #cancelled: Promise<void> | undefined
  #ending: Promise<void> | undefined

  private constructor(connection: CursorConnection<Row>, options: CursorSessionOptions) {
    this.#connection = connection
    this.#options = options
  }

  /**
   * Begins the transaction (when the session owns it) and declares the cursor. On failure,
   * whatever was opened is ended (or the connection destroyed) before the error is rethrown.
   */
  static async open<Row>(
    connection: CursorConnection<Row>,
    options: CursorSessionOptions,
  ): Promise<CursorSession<Row>> {
    const session = new CursorSession(connection, options)
    const { signal } = options
    try {
      signal?.throwIfAborted()
      if (options.ownsTransaction) await session.#statement(() => connection.begin(), 'BEGIN', signal)
      session.#assertCanSend(signal)
      await session.#statement(() => connection.declare(), 'DECLARE', signal)
      session.#declared = true
    } catch (error) {
      await session.close().catch(() => {})
      throw error
    }
    return session
  }

  /** True while a statement is in flight. */
  get busy(): boolean {
    return this.#running !== undefined
  }

  /**
   * The next `count` rows (fewer only at the end). Rejects at once with `signal.reason` when
   * `signal` aborts (the FETCH is cancelled in the background), with a {@link ChunkTimeoutError}
   * when it outlasts `chunkTimeoutMs`, and without sending anything once the run has stopped.
   */
  fetch(count: number, signal?: AbortSignal): Promise<Row[]> {
    try {
      this.#assertCanSend(signal)
    } catch (error) {
      return Promise.reject(error)
    }
    return this.#statement(() => this.#connection.fetch(count), `FETCH of ${count} rows`, signal)
  }

  /**
   * The adapter saw the connection die (an `error` event of its client): nothing more is sent on
   * it, and `close()` destroys it.
   */
  connectionLost(error: unknown): void {
    this.#dispatch({ kind: 'lost', error })
  }

  /** Why the session can send nothing more, if it cannot: the connection was lost, or its state is unknown. */
  get broken(): { readonly kind: 'lost' | 'unknown'; readonly error: unknown } | undefined {
    const state = this.#state
    return state.kind === 'lost' || state.kind === 'unknown' ? state : undefined
  }

  /**
   * Ends the cursor (see the class comment) and hands the connection back or destroys it.
   * Idempotent. Rejects with the error of a `COMMIT`, `ROLLBACK` or `CLOSE` that failed, unless
   * the connection was lost (no news: the run already failed, or nobody waits for rows).
   */
  close(): Promise<void> {
    return (this.#ending ??= this.#end())
  }

  async #end(): Promise<void> {
    this.#dispatch({ kind: 'stopped', reason: undefined })
    const owns = this.#options.ownsTransaction
    const running = this.#running
    if (running !== undefined) {
      // a statement nobody will read: in the session's own transaction, cancel it
      if (owns) this.#cancel(running)
      const bound = this.#cancelled !== undefined ? this.#cancelWaitMs() : this.#options.chunkTimeoutMs
      if ((await waitFor(running.settled, undefined, bound)) === TIMED_OUT) {
        this.#dispatch({
          kind: 'unknown',
          error: new Error(
            `The cursor's statement did not end within ${bound} ms${this.#cancelled ? ' of its cancel request' : ''}`,
          ),
        })
      }
    }
    let endError: unknown
    const state = this.#state
    if (state.kind === 'open' || state.kind === 'stopped' || state.kind === 'failed') {
      // a cancel that arrives late must meet the end statement (which then fails), never a later user of the connection
      if (this.#cancelled !== undefined) await waitFor(this.#cancelled, undefined, this.#cancelWaitMs())
      try {
        if (!owns) {
          if (this.#declared && state.kind !== 'failed') await this.#bounded(() => this.#connection.closeCursor())
        } else if (state.kind === 'failed' || this.#cancelled !== undefined)
          await this.#bounded(() => this.#connection.rollback())
        else await this.#bounded(() => this.#connection.commit())
      } catch (error) {
        endError = error
        const kind = failureKind(error)
        // the session's own transaction whose end failed may still be open
        this.#dispatch(
          kind === 'lost' ? { kind, error } : owns ? { kind: 'unknown', error } : { kind: 'failed', error },
        )
      }
    }
    const broken = this.broken
    if (broken?.kind === 'unknown' && owns && this.#cancelled === undefined && this.#connection.cancel !== undefined) {
      // the driver gave up on a statement the server may still run: stop it too (nothing is sent on
      // this connection any more, so the request need not be waited for)
      this.#cancelled = this.#connection.cancel().catch(() => {})
    }
    // The end is not confirmed: this connection must never serve anyone again.
    await this.#connection.release(broken === undefined ? undefined : { reason: broken.error })
    if (endError !== undefined && failureKind(endError) !== 'lost') throw endError
  }

  /** Sends one statement and waits for it, bounded by `signal` and `chunkTimeoutMs`. */
  async #statement<T>(send: () => Promise<T>, what: string, signal: AbortSignal | undefined): Promise<T> {
    let sent: Promise<T>
    try {
      sent = send()
    } catch (error) {
      sent = Promise.reject(error)
    }
    const running: Running = {
      settled: sent.then(
        () => undefined,
        (error: unknown) => this.#failed(error),
      ),
    }
    this.#running = running
    void running.settled.then(() => {
      if (this.#running === running) this.#running = undefined
    })
    const timeoutMs = this.#options.chunkTimeoutMs
    let outcome: T | typeof TIMED_OUT
    try {
      outcome = await waitFor(sent, signal, timeoutMs)
    } catch (error) {
      if (signal?.aborted === true && error === signal.reason) {
        this.#dispatch({ kind: 'stopped', reason: error })
        if (this.#options.ownsTransaction) this.#cancel(running)
      }
      throw error
    }
    if (outcome === TIMED_OUT) {
      const timeout = new ChunkTimeoutError(
        `The cursor's ${what} did not finish within chunkTimeoutMs (${timeoutMs} ms): it was cancelled on the server and the run ended (a cursor cannot go on without its connection and snapshot). ` +
          'Run again, raise chunkTimeoutMs, or check the database and the network to it',
      )
      this.#dispatch({ kind: 'stopped', reason: timeout })
      this.#cancel(running)
      throw timeout
    }
    return outcome
  }

  /** Asks the server to cancel `running` if it still runs (once per session: nothing runs after it but the end). */
  #cancel(running: Running): void {
    if (this.#cancelled !== undefined || this.#running !== running || this.#connection.cancel === undefined) return
    this.#cancelled = this.#connection.cancel().catch(() => {})
  }

  /** Runs an end statement, bounded by `chunkTimeoutMs`; a timeout is a failure. */
  async #bounded(send: () => Promise<void>): Promise<void> {
    const bound = this.#options.chunkTimeoutMs
    if ((await waitFor(send(), undefined, bound)) === TIMED_OUT)
      throw new ChunkTimeoutError(
        `The cursor's end (COMMIT, ROLLBACK or CLOSE) did not finish within chunkTimeoutMs (${bound} ms)`,
      )
  }

  #assertCanSend(signal: AbortSignal | undefined): void {
    signal?.throwIfAborted()
    const state = this.#state
    if (state.kind === 'lost' || state.kind === 'unknown' || state.kind === 'failed') throw state.error
    if (state.kind === 'stopped')
      throw state.reason ?? new Error('The cursor session has ended: no statement can be sent on it')
    if (this.#running !== undefined)
      throw new Error('The cursor session runs one statement at a time: wait for the last one to settle')
  }

  #failed(error: unknown): void {
    const kind = failureKind(error)
    this.#dispatch(kind === 'server' ? { kind: 'failed', error } : { kind, error })
  }

  #cancelWaitMs(): number {
    return this.#options.cancelWaitMs ?? this.#options.chunkTimeoutMs ?? DEFAULT_CANCEL_WAIT_MS
  }

  /** The one place the state changes: it only gets worse (open, stopped, failed, unknown, lost). */
  #dispatch(next: SessionState): void {
    if (SEVERITY[next.kind] > SEVERITY[this.#state.kind]) this.#state = next
  }
}

/**
 * - `open`: every statement so far succeeded;
 * - `stopped`: the run stopped (abort, timeout, close): nothing new is sent, the end still is;
 * - `failed`: the server rejected a statement: the connection works, its transaction is aborted;
 * - `unknown`: a statement failed without the server's word, or did not end: the connection's state is unknown;
 * - `lost`: the connection is gone.
 */
type SessionState =
  | { readonly kind: 'open' }
  | { readonly kind: 'stopped'; readonly reason: unknown }
  | { readonly kind: 'failed'; readonly error: unknown }
  | { readonly kind: 'unknown'; readonly error: unknown }
  | { readonly kind: 'lost'; readonly error: unknown }

const SEVERITY = { open: 0, stopped: 1, failed: 2, unknown: 3, lost: 4 } as const satisfies Record<
  SessionState['kind'],
  number
>

interface Running {
  /** Settles (never rejects) when the statement has ended, its failure recorded. */
  readonly settled: Promise<void>
}
