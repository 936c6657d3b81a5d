import {
  cancelNodePostgresStatement,
  type Chunk,
  type ChunkSource,
  ChunkTimeoutError,
  type CursorConnection,
  CursorSession,
} from '@batchyield/batch-core'
import { type ObjectLiteral, QueryFailedError, type QueryRunner, type SelectQueryBuilder } from 'typeorm'
import { isConnectionLoss } from './connection-loss.js'
import { HYDRATION_SLICE_ROWS, hydrateInSlices, hydrateRows } from './hydrate.js'
import { asEntityQuery, type Paths, pathsOf, queryRunnerOf, releaseDestroyed } from './internals.js'
import { appendCondition, keysetOrderBy, MAX_PARAMETERS, rootKeyCondition } from './keyset-source.js'
import { type PortalReader, portalReader, type Row } from './portal-reader.js'
import { cloneQuery } from './query-clone.js'
import type { QueryPlan } from './query-plan.js'
import type { ReadAhead } from './read-ahead.js'
import { type NodePostgresClient, nodePostgresClient } from './internals.js'
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
 *
 * What is sent when, and whether the connection may go back to the pool, is batch-core's
 * `CursorSession` (shared with the MikroORM adapter); this class renders its statements with
 * TypeORM's query runner and hydrates the rows.
 */
export class CursorSource<E extends ObjectLiteral> implements ChunkSource<E> {
  private pending: Row[] = []
  private exhausted = false
  private skipRoots: number
  private counted = false
  /** The connection was handed back (or destroyed): by the session's end, or by close() when no session opened. */
  private released = false
  private session: CursorSession<Row> | undefined
  /** Why the server closed our connection, if it did (TypeORM then releases the runner). */
  private connectionError: Error | undefined
  /** Whether hydrating a chunk sent no statement (known after the first chunk): then reads may go ahead. */
  private hydrationQuiet = false
  /** What this TypeORM offers (internals.ts): on the public path each chunk's entities are loaded by their keys. */
  private paths: Paths | undefined
  /** The next chunk's read, sent before this chunk is hydrated (see ReadAhead). */
  private ahead: { readonly size: number; readonly rows: Promise<Row[]> } | undefined
  /** Reads chunks with a protocol-level Execute of the cursor (see portalReader); undefined: FETCH statements. */
  private readPortal: PortalReader | undefined
  private connection:
    | {
        on(event: 'error', listener: (error: Error) => void): unknown
        removeListener(event: 'error', listener: (error: Error) => void): unknown
      }
    | undefined
  private readonly onConnectionError = (error: Error) => {
    this.connectionError ??= error
    this.session?.connectionLost(error)
  }

  private constructor(
    private readonly plan: QueryPlan<E>,
    private readonly query: SelectQueryBuilder<E>,
    private readonly rowKeys: RowKeys,
    private readonly runner: QueryRunner,
    private readonly ownsRunner: boolean,
    private readonly name: string,
    private readonly readAhead: ReadAhead,
    private readonly chunkTimeoutMs: number | undefined,
  ) {
    this.skipRoots = plan.skip
  }

  /** Prepares the query; the transaction and the cursor are opened by the first next(). */
  static open<E extends ObjectLiteral>(
    plan: QueryPlan<E>,
    prefix: string,
    readAhead: ReadAhead = {},
    chunkTimeoutMs?: number,
  ): CursorSource<E> {
    const query = cloneQuery(plan.base)
    const rowKeys = new RowKeys(plan.primary, prefix, (key) => key.sql)
    rowKeys.addTo(query)
    if (plan.toManyJoins && plan.rootOrdering) {
      // Each root entity's rows must be adjacent: the root-column order, the primary key, then
      // the terms that order joined rows (the same ORDER BY keyset uses).
      query.orderBy({ ...keysetOrderBy(plan.rootOrdering.keys, plan.dialect), ...plan.rootOrdering.rest })
    }
    const callers = queryRunnerOf(query)
    const runner = callers ?? plan.dataSource.createQueryRunner(plan.dataSource.defaultReplicationModeForReads())
    return new CursorSource(
      plan,
      query,
      rowKeys,
      runner,
      callers === undefined,
      `${prefix}cursor`,
      readAhead,
      chunkTimeoutMs,
    )
  }

  /** Takes the connection and opens the session: BEGIN (unless the runner is in a transaction) and DECLARE. */
  private async openSession(signal: AbortSignal): Promise<CursorSession<Row>> {
    signal.throwIfAborted()
    const connection = await this.acquire()
    if (typeof connection?.on === 'function') {
      this.connection = connection as NonNullable<CursorSource<E>['connection']>
      connection.on('error', this.onConnectionError)
    }
    const pg = nodePostgresClient(connection)
    const ownsTransaction = !this.runner.isTransactionActive
    const session = await CursorSession.open(this.statements(connection, pg), {
      ownsTransaction,
      chunkTimeoutMs: this.chunkTimeoutMs,
      signal,
    })
    this.session = session
    if (this.connectionError !== undefined) session.connectionLost(this.connectionError)
    return session
  }

  /** The cursor's statements through TypeORM's query runner (and, for reads, node-postgres's wire protocol). */
  private statements(connection: unknown, pg: NodePostgresClient | undefined): CursorConnection<Row> {
    const { runner, name } = this
    const connected = <T>(send: () => Promise<T>): Promise<T> => {
      // TypeORM releases the runner when its connection errors: say why, as the connection loss it is
      if (runner.isReleased)
        return Promise.reject(this.connectionError ?? new Error('Connection terminated: the query runner was released'))
      return send()
    }
    return {
      begin: () =>
        connected(async () => {
          await runner.startTransaction('REPEATABLE READ')
          await runner.query('SET TRANSACTION READ ONLY')
        }),
      declare: () =>
        connected(async () => {
          asEntityQuery(this.query) // the SQL getMany() runs (adds unselected primary columns)
          const [sql, parameters] = this.query.getQueryAndParameters()
          await runner.query(`DECLARE ${name} NO SCROLL CURSOR FOR ${sql}`, parameters)
          // Query subscribers (beforeQuery/afterQuery) see every statement runner.query() sends: with
          // any registered, or on the public path, chunks stay FETCH statements through it.
          if (this.plan.dataSource.subscribers.length === 0 && this.paths?.cursor === 'fast')
            this.readPortal = portalReader(this.plan.dataSource.driver, connection, name)
          if (!this.plan.toManyJoins && this.skipRoots > 0) {
            await runner.query(`MOVE FORWARD ${this.skipRoots} IN ${name}`)
            this.skipRoots = 0
          }
        }),
      fetch: (count) =>
        connected(() => {
          const sql = `FETCH FORWARD ${count} FROM ${name}`
          return this.readPortal
            ? this.executePortal(sql, count, this.readPortal)
            : runner.query(sql, undefined, true).then((result) => result.records as Row[])
        }),
      closeCursor: () => connected(() => runner.query(`CLOSE ${name}`)),
      commit: () => connected(() => runner.commitTransaction()),
      rollback: () => connected(() => runner.rollbackTransaction()),
      ...(pg === undefined ? {} : { cancel: async () => void (await cancelNodePostgresStatement(connection)) }),
      release: async (destroy) => {
        this.released = true
        this.connection?.removeListener('error', this.onConnectionError)
        this.uncount()
        if (!this.ownsRunner) return // the caller's runner and connection stay the caller's
        // A connection whose transaction end is not confirmed is destroyed rather than pooled.
        const destroyed =
          destroy !== undefined &&
          (await releaseDestroyed(
            runner,
            destroy.reason instanceof Error ? destroy.reason : new Error(String(destroy.reason)),
          ))
        if (!destroyed) await runner.release()
      },
    }
  }

  /** The runner's connection; a pool timeout becomes an error that says what holds the connections. */
  private async acquire(): Promise<{ on?: unknown } | undefined> {
    let connection: { on?: unknown } | undefined
    try {
      connection = await this.runner.connect()
    } catch (error) {
      if (this.ownsRunner && error instanceof Error && /timeout exceeded when trying to connect/i.test(error.message))
        throw poolTimeout(error, openRuns.get(this.plan.dataSource) ?? 0)
      throw error
    }
    if (this.ownsRunner) {
      this.counted = true
      openRuns.set(this.plan.dataSource, (openRuns.get(this.plan.dataSource) ?? 0) + 1)
    }
    return connection
  }

  async next(size: number, signal: AbortSignal): Promise<Chunk<E>> {
    this.paths ??= await pathsOf(this.plan.base)
    const session = (this.session ??= await this.onConnection(() => this.openSession(signal), signal))
    for (;;) {
      let rows = this.pending
      this.pending = []
      if (!this.exhausted) {
        const read = this.ahead ?? { size, rows: this.fetch(session, size, signal) }
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
      // once the run is over (abort, early exit), nothing new is sent: no read ahead, no hydration queries
      signal.throwIfAborted()
      // Not while hydrating sends statements of its own: they would wait behind the read (and
      // fail with it, hiding its error). Rows left over from a read ahead mean the engine is
      // asking for its last few.
      if (
        this.readAhead.enabled === true &&
        this.hydrationQuiet &&
        !this.exhausted &&
        (this.plan.toManyJoins || this.pending.length === 0)
      ) {
        const rowsAhead = this.fetch(session, size, signal)
        rowsAhead.catch(() => {}) // awaited by the next next(), or dropped by close()
        this.ahead = { size, rows: rowsAhead }
      }
      if (rows.length === 0) {
        if (done) return { items: [], done }
        continue
      }
      if (this.paths.cursor === 'public')
        return { items: await this.onConnection(() => this.entitiesByKeys(rows), signal), done }
      // One row per entity and no statements to send: hydrate in slices (see hydrateInSlices).
      const sliced = !this.plan.toManyJoins && this.hydrationQuiet
      const { entities, sendsStatements } = await this.onConnection(
        () =>
          sliced
            ? hydrateInSlices(this.query, this.runner, rows, HYDRATION_SLICE_ROWS)
            : hydrateRows(this.query, this.runner, rows),
        signal,
      )
      this.hydrationQuiet = !sendsStatements
      return { items: entities, done }
    }
  }

  /**
   * The public path (internals.ts): the entities of the rows' root keys, loaded by
   * getRawAndEntities() of the cursor's own query for those keys on the cursor's connection (so in
   * its transaction and snapshot), in the order the cursor returned them. It sends statements, so
   * no read goes ahead of it.
   */
  private async entitiesByKeys(rows: readonly Row[]): Promise<E[]> {
    const position = new Map<string, number>()
    const keys: unknown[][] = []
    for (const row of rows) {
      const root = this.rowKeys.rootOf(row)
      if (position.has(root)) continue
      position.set(root, keys.length)
      keys.push(this.rowKeys.read(row))
    }
    const entities: E[] = Array.from({ length: keys.length })
    const { primary, dialect } = this.plan
    const slice =
      primary.length === 1 && dialect.arrayParameters
        ? keys.length
        : Math.max(1, Math.floor(MAX_PARAMETERS / primary.length))
    for (let start = 0; start < keys.length; start += slice) {
      const query = cloneQuery(this.query).setQueryRunner(this.runner)
      appendCondition(
        query,
        rootKeyCondition(keys.slice(start, start + slice), primary, `${this.name}_`, dialect.arrayParameters),
      )
      const { raw, entities: loaded } = await query.getRawAndEntities()
      this.rowKeys.firstRows(raw, loaded).forEach((row, i) => {
        entities[position.get(this.rowKeys.rootOf(row))!] = loaded[i]!
      })
    }
    // an entity another transaction deleted since the FETCH (only in the caller's own READ COMMITTED transaction) is gone
    return entities.filter((entity) => entity !== undefined)
  }

  private fetch(session: CursorSession<Row>, size: number, signal: AbortSignal): Promise<Row[]> {
    return this.onConnection(() => session.fetch(size, signal), signal)
  }

  /**
   * A step that sends statements on the cursor's connection (a FETCH, or hydration's relation-id
   * queries, which may wait behind a read sent ahead): if the connection died under it, the
   * clear error of lostConnection().
   */
  private async onConnection<T>(step: () => Promise<T>, signal: AbortSignal): Promise<T> {
    try {
      return await step()
    } catch (error) {
      if (error instanceof ChunkTimeoutError || (signal.aborted && error === signal.reason)) throw error
      // The connection may have died under this statement; its 'error' event can trail the rejection.
      await new Promise((resolve) => setImmediate(resolve))
      // (a runner released by TypeORM, not by our own end, lost its connection)
      if ((this.runner.isReleased && !this.released) || this.connectionError || isConnectionLoss(error))
        throw this.lostConnection(error)
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

  /**
   * Ends the session (COMMIT, ROLLBACK after a failure or a cancel, CLOSE in the caller's
   * transaction; a connection whose end is not confirmed is destroyed, see CursorSession). A read
   * sent ahead that nobody took is cancelled there; its outcome is no news to the caller.
   */
  async close(): Promise<void> {
    const ahead = this.ahead
    this.ahead = undefined
    try {
      if (this.session !== undefined) await this.session.close()
      else if (!this.released) await this.statements(undefined, undefined).release(undefined) // no session opened: nothing was begun
    } finally {
      await ahead?.rows.catch(() => {})
      this.uncount()
    }
  }

  private uncount(): void {
    if (!this.counted) return
    this.counted = false
    openRuns.set(this.plan.dataSource, (openRuns.get(this.plan.dataSource) ?? 1) - 1)
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
