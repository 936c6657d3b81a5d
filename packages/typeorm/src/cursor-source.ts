import type { Chunk, ChunkSource } from '@batchyield/batch-core'
import { type ObjectLiteral, QueryFailedError, type QueryRunner, type SelectQueryBuilder } from 'typeorm'
import { isConnectionLoss } from './connection-loss.js'
import { HYDRATION_SLICE_ROWS, hydrateInSlices, hydrateRows } from './hydrate.js'
import { keysetOrderBy } from './keyset-source.js'
import { type PortalReader, portalReader, type Row } from './portal-reader.js'
import { cloneQuery } from './query-clone.js'
import type { QueryPlan } from './query-plan.js'
import type { ReadAhead } from './read-ahead.js'
import { RowKeys } from './row-keys.js'

/** Cursor runs currently holding a pooled connection, per data source (named in pool-timeout errors). */
const openRuns = new WeakMap<object, number>()

/**
 * Cursor strategy (PostgreSQL): `DECLARE … NO SCROLL CURSOR FOR <the query>` inside a read-only
 * REPEATABLE READ transaction, then `FETCH FORWARD n` per chunk (sent as a protocol-level
 * Execute of the cursor when the driver allows, see portalReader). The whole run reads one
 * snapshot and any ORDER BY works. With to-many joins, the rows of the last root entity of a
 * FETCH may continue in the next one: they are held back until the entity is complete (the
 * ORDER BY ends with the root primary key, so an entity's rows are adjacent).
 *
 * If the query builder runs on a query runner inside a transaction, the cursor lives in that
 * transaction (its isolation level applies) and the transaction is left open for its owner.
 */
export class CursorSource<E extends ObjectLiteral> implements ChunkSource<E> {
  private pending: Row[] = []
  private exhausted = false
  private skipRoots: number
  private declared = false
  private transactionStarted = false
  private counted = false
  /** Why the server closed our connection, if it did (TypeORM then releases the runner). */
  private connectionError: Error | undefined
  /** Whether hydrating a chunk sent no statement (known after the first chunk): then reads may go ahead. */
  private hydrationQuiet = false
  /** The next chunk's read, sent before this chunk is hydrated (see ReadAhead). */
  private ahead: { readonly size: number; readonly rows: Promise<Row[]> } | undefined
  /** Reads chunks with a protocol-level Execute of the cursor (see portalReader); undefined: FETCH statements. */
  private readPortal: PortalReader | undefined
  private connection: { on(event: 'error', listener: (error: Error) => void): unknown; removeListener(event: 'error', listener: (error: Error) => void): unknown } | undefined
  private readonly onConnectionError = (error: Error) => {
    this.connectionError ??= error
  }

  private constructor(
    private readonly plan: QueryPlan<E>,
    private readonly query: SelectQueryBuilder<E>,
    private readonly rowKeys: RowKeys,
    private readonly runner: QueryRunner,
    private readonly ownsRunner: boolean,
    private readonly name: string,
    private readonly readAhead: ReadAhead,
  ) {
    this.skipRoots = plan.skip
  }

  /** Opens the transaction (unless the query's runner is already in one) and declares the cursor. */
  static async open<E extends ObjectLiteral>(plan: QueryPlan<E>, prefix: string, readAhead: ReadAhead = {}): Promise<CursorSource<E>> {
    const query = cloneQuery(plan.base)
    const rowKeys = new RowKeys(plan.primary, prefix, (key) => key.sql)
    rowKeys.addTo(query)
    if (plan.toManyJoins && plan.rootOrdering) {
      // Each root entity's rows must be adjacent: the root-column order, the primary key, then
      // the terms that order joined rows (the same ORDER BY keyset uses).
      query.orderBy({ ...keysetOrderBy(plan.rootOrdering.keys, plan.dialect), ...plan.rootOrdering.rest })
    }
    const callers = (query as unknown as { queryRunner?: QueryRunner }).queryRunner
    const runner = callers ?? plan.dataSource.createQueryRunner(plan.dataSource.defaultReplicationModeForReads())
    const source = new CursorSource(plan, query, rowKeys, runner, callers === undefined, `${prefix}cursor`, readAhead)
    try {
      await source.declare()
    } catch (error) {
      await source.close().catch(() => {})
      throw error
    }
    return source
  }

  private async declare(): Promise<void> {
    const connection = await this.acquire()
    if (typeof connection?.on === 'function') {
      this.connection = connection as NonNullable<CursorSource<E>['connection']>
      connection.on('error', this.onConnectionError)
    }
    if (!this.runner.isTransactionActive) {
      this.transactionStarted = true
      await this.runner.startTransaction('REPEATABLE READ')
      await this.runner.query('SET TRANSACTION READ ONLY')
    }
    this.query.expressionMap.queryEntity = true // the SQL getMany() runs (adds unselected primary columns)
    const [sql, parameters] = this.query.getQueryAndParameters()
    await this.runner.query(`DECLARE ${this.name} NO SCROLL CURSOR FOR ${sql}`, parameters)
    this.declared = true
    // Query subscribers (beforeQuery/afterQuery) see every statement runner.query() sends: with
    // any registered, chunks stay FETCH statements through it.
    if (this.plan.dataSource.subscribers.length === 0) this.readPortal = portalReader(this.plan.dataSource.driver, connection, this.name)
    if (!this.plan.toManyJoins && this.skipRoots > 0) {
      await this.runner.query(`MOVE FORWARD ${this.skipRoots} IN ${this.name}`)
      this.skipRoots = 0
    }
  }

  /** The runner's connection; a pool timeout becomes an error that says what holds the connections. */
  private async acquire(): Promise<{ on?: unknown } | undefined> {
    let connection: { on?: unknown } | undefined
    try {
      connection = await this.runner.connect()
    } catch (error) {
      if (this.ownsRunner && error instanceof Error && /timeout exceeded when trying to connect/i.test(error.message)) throw poolTimeout(error, openRuns.get(this.plan.dataSource) ?? 0)
      throw error
    }
    if (this.ownsRunner) {
      this.counted = true
      openRuns.set(this.plan.dataSource, (openRuns.get(this.plan.dataSource) ?? 0) + 1)
    }
    return connection
  }

  async next(size: number): Promise<Chunk<E>> {
    for (;;) {
      let rows = this.pending
      this.pending = []
      if (!this.exhausted) {
        this.assertConnected()
        const read = this.ahead ?? { size, rows: this.fetch(size) }
        this.ahead = undefined
        const fetched = await read.rows
        if (fetched.length < read.size) this.exhausted = true
        rows = rows.length === 0 ? fetched : rows.concat(fetched)
      }
      if (this.plan.toManyJoins && !this.exhausted && rows.length > 0) {
        // The last root's rows may go on in the next FETCH: hold them back.
        const lastRoot = this.rowKeys.rootOf(rows[rows.length - 1]!)
        let cut = rows.length
        while (cut > 0 && this.rowKeys.rootOf(rows[cut - 1]!) === lastRoot) cut--
        this.pending = rows.slice(cut)
        rows = rows.slice(0, cut)
      } else if (!this.plan.toManyJoins && rows.length > size) {
        // A read sent ahead with the last request's size, and the engine asks for fewer (the end of a limit).
        this.pending = rows.slice(size)
        rows = rows.slice(0, size)
      }
      rows = this.dropSkipped(rows)
      const done = this.exhausted && this.pending.length === 0
      // Not while hydrating sends statements of its own: they would wait behind the read (and
      // fail with it, hiding its error). Rows left over from a read ahead mean the engine is
      // asking for its last few.
      if (this.readAhead.enabled === true && this.hydrationQuiet && !this.exhausted && (this.plan.toManyJoins || this.pending.length === 0)) {
        const rowsAhead = this.fetch(size)
        rowsAhead.catch(() => {}) // awaited by the next next() or by close()
        this.ahead = { size, rows: rowsAhead }
      }
      if (rows.length === 0) {
        if (done) return { items: [], done }
        continue
      }
      // One row per entity and no statements to send: hydrate in slices (see hydrateInSlices).
      const sliced = !this.plan.toManyJoins && this.hydrationQuiet
      const { entities, sendsStatements } = await this.onConnection(() =>
        sliced ? hydrateInSlices(this.query, this.runner, rows, HYDRATION_SLICE_ROWS) : hydrateRows(this.query, this.runner, rows),
      )
      this.hydrationQuiet = !sendsStatements
      return { items: entities, done }
    }
  }

  private fetch(size: number): Promise<Row[]> {
    const sql = `FETCH FORWARD ${size} FROM ${this.name}`
    return this.onConnection(() => (this.readPortal ? this.executePortal(sql, size, this.readPortal) : this.runner.query(sql, undefined, true).then((result) => result.records)))
  }

  /**
   * A step that sends statements on the cursor's connection (a FETCH, or hydration's relation-id
   * queries, which may wait behind a read sent ahead): if the connection died under it, the
   * clear error of lostConnection().
   */
  private async onConnection<T>(step: () => Promise<T>): Promise<T> {
    try {
      return await step()
    } catch (error) {
      // The connection may have died under this statement; its 'error' event can trail the rejection.
      await new Promise((resolve) => setImmediate(resolve))
      if (this.runner.isReleased || this.connectionError || isConnectionLoss(error)) throw this.lostConnection(error)
      throw error
    }
  }

  /** `FETCH FORWARD size` by Execute, logged and failing as runner.query() would log and fail it. */
  private async executePortal(sql: string, size: number, read: PortalReader): Promise<Row[]> {
    const { logger } = this.plan.dataSource
    logger.logQuery(sql, undefined, this.runner)
    try {
      return await read(size)
    } catch (driverError) {
      logger.logQueryError(driverError as Error, sql, undefined, this.runner)
      throw new QueryFailedError(sql, undefined, driverError as Error)
    }
  }

  /** A clear error instead of TypeORM's "Query runner already released" when the server closed the connection. */
  private assertConnected(): void {
    if (this.runner.isReleased) throw this.lostConnection(undefined)
  }

  private lostConnection(fetchError: unknown): Error {
    const cause = this.connectionError ?? fetchError
    const reason = cause instanceof Error ? cause.message : 'the query runner was released'
    return new Error(
      `The cursor's database connection was closed during the run (${reason}); the cursor and its snapshot are gone. Start the run again, or use strategy 'keyset', which holds no connection between chunks and can resume with 'after'`,
      { cause },
    )
  }

  /** skip() with to-many joins counts entities, so it is applied to complete root groups here. */
  private dropSkipped(rows: Row[]): Row[] {
    let start = 0
    while (this.skipRoots > 0 && start < rows.length) {
      const root = this.rowKeys.rootOf(rows[start]!)
      while (start < rows.length && this.rowKeys.rootOf(rows[start]!) === root) start++
      this.skipRoots--
    }
    return start === 0 ? rows : rows.slice(start)
  }

  /** CLOSE, then COMMIT (ROLLBACK if anything failed) and release, whatever state we are in. */
  async close(): Promise<void> {
    let failure: { error: unknown } | undefined
    // A read sent ahead that nobody took: wait for it (the connection is busy until then). Its
    // error is no news to the caller, who never asked for those rows, but unless the connection
    // died it aborted the transaction: then CLOSE would fail, and ROLLBACK ends it.
    const unread = await this.ahead?.rows.then(
      () => undefined,
      (error: unknown) => ({ error }),
    )
    this.ahead = undefined
    const aborted = unread !== undefined && this.connectionError === undefined && !this.runner.isReleased && !isConnectionLoss(unread.error)
    // Once the session is gone, so are its cursor and transaction: nothing is left to clean up
    // on the server, and a "Connection terminated" from CLOSE is no news to the caller (a FETCH
    // that hit it already failed the run; after a break, nobody is waiting for rows).
    let lost: Error | undefined = this.connectionError
    const attempt = async (step: () => Promise<unknown>) => {
      try {
        await step()
      } catch (error) {
        if (this.connectionError || isConnectionLoss(error)) lost ??= this.connectionError ?? (error as Error)
        else failure ??= { error }
      }
    }
    const usable = () => lost === undefined && !this.runner.isReleased
    if (this.declared && usable() && !aborted) await attempt(() => this.runner.query(`CLOSE ${this.name}`))
    if (this.transactionStarted && this.runner.isTransactionActive && usable()) {
      await attempt(() => (failure || aborted ? this.runner.rollbackTransaction() : this.runner.commitTransaction()))
    }
    if (this.ownsRunner) {
      // A connection whose clean-up failed (or that died) is in an unknown state: destroy it rather than pool it.
      const release = (this.runner as unknown as { releasePostgresConnection?: (error?: unknown) => Promise<void> }).releasePostgresConnection
      const broken = failure?.error ?? lost
      await attempt(() => (broken && release ? release.call(this.runner, broken) : this.runner.release()))
    }
    this.connection?.removeListener('error', this.onConnectionError)
    if (this.counted) {
      this.counted = false
      openRuns.set(this.plan.dataSource, (openRuns.get(this.plan.dataSource) ?? 1) - 1)
    }
    if (failure) throw failure.error
  }
}

/**
 * The pool handed out no connection within `connectTimeoutMS`. With cursor runs holding the
 * connections, the usual cause is a wait that can never end: another cursor run or a query
 * started inside a cursor loop's body, or more cursor runs than connections consumed in lockstep.
 */
function poolTimeout(cause: Error, holding: number): Error {
  return new Error(
    `strategy 'cursor' got no database connection from the pool within connectTimeoutMS (${cause.message}); ${holding} cursor run(s) of this data source hold one each until their loop ends. ` +
      "Starting a cursor run or a query inside a cursor run's loop body, or consuming more cursor runs than the pool has connections in lockstep, waits for a connection that is never returned. " +
      "Use strategy 'keyset' (it holds no connection between chunks), a larger pool, or do the inner work after the loop",
    { cause },
  )
}
