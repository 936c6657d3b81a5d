import {
  type Chunk,
  type ChunkSource,
  encodeResumeToken,
  type KeyShape,
  KeysetProgress,
  type KeysetRange,
  leadingKeyRanges,
  type LeadingKeyRange,
  leadingValue,
  rangePredicate,
  ReadAheadRows,
  type SeekPredicate,
  seekPredicate,
  boundStatement,
  ChunkTimeoutError,
} from '@batchyield/batch-core'
import type { ObjectLiteral, OrderByCondition, QueryRunner, SelectQueryBuilder } from 'typeorm'
import { isConnectionLoss } from './connection-loss.js'
import { appendCondition as appendSql, dataSourceOf, type Paths, pathsOf, queryRunnerOf } from './internals.js'
import { statementControls } from './statement-controls.js'
import type { Dialect } from './dialect.js'
import { HYDRATION_SLICE_ROWS, hydrateInSlices, hydrationSendsStatements, loadRawRows } from './hydrate.js'
import { cloneQuery } from './query-clone.js'
import { compareSql, type KeyColumn, type KeysetOrdering, type QueryPlan, readSql } from './query-plan.js'
import type { ReadAhead } from './read-ahead.js'
import { RowKeys } from './row-keys.js'
import { renderSeek } from './seek-sql.js'

/**
 * Keyset strategy: each chunk is one query (two with to-many joins) that seeks past the last
 * row's sort key. Nothing is held between chunks, so there is nothing to release.
 *
 * Without to-many joins a row is an entity: `ORDER BY keys LIMIT n` with the seek condition.
 * With to-many joins, LIMIT would cut an entity's rows apart, so the chunk is chosen first as
 * the next `n` distinct root keys, then those entities are loaded with the query's own joins
 * (`WHERE pk IN (…)`, same order), the way TypeORM's own `take()` pagination works.
 */
export class KeysetSource<E extends ObjectLiteral> implements ChunkSource<E> {
  private last: readonly unknown[] | undefined
  private skip: number
  private readonly rowKeys: RowKeys
  /**
   * The latest chunks with their entities' key values, for `cursorOf()`; empty when nobody asks
   * for resume tokens (no `onProgress`). See `remember()`.
   */
  private readonly recent: ChunkKeys<E>[] = []
  /** The chunk `cursorOf()` found its last entity in: calls come in iteration order. */
  private lastFound: ChunkKeys<E> | undefined
  private readonly columns: ReadonlyMap<string, string>
  /** Stops the run if a chunk repeats a row of the previous one (a seek that did not advance). */
  private readonly progress: KeysetProgress
  private readonly keys: readonly KeyColumn[]
  /** The range's condition over the keys (batch-core's rangePredicate), when the run has one. */
  private readonly rangeCondition: SeekPredicate | undefined
  /** Whether hydrating a chunk sent no statement (known after the first chunk): then it is done in slices. */
  private hydrationQuiet = false
  /** What this TypeORM offers (internals.ts): on the public path every chunk is getRawAndEntities(). */
  private paths: Paths | undefined
  /** Raw rows of quiet chunks (see readRowsAhead), with the next chunk's read sent ahead when asked. */
  private readonly rawRows = new ReadAheadRows<Record<string, unknown>>(async (size, signal) => {
    const rows = await this.loadRaw(size, signal)
    return { rows, exhausted: rows.length < size }
  })
  /**
   * Hands TypeORM's hydration of a slice its broadcaster (afterLoad subscribers); never
   * connected, since a quiet hydration sends no statement.
   */
  private hydrationRunner: QueryRunner | undefined
  /** The query whose SQL the raw rows come from, as hydration reads it (see readRowsAhead). */
  private hydrationQuery: SelectQueryBuilder<E> | undefined

  constructor(
    private readonly plan: QueryPlan<E>,
    private readonly ordering: KeysetOrdering,
    private readonly shape: KeyShape,
    private readonly prefix: string,
    after: readonly unknown[] | undefined,
    /** Chunks to keep key values for; 0 when `cursorOf()` is never called. */
    private readonly retain: number,
    private readonly readAhead: ReadAhead = {},
    /** Where the run starts and stops (`from`/`to`/`partition`); every chunk stays inside it, `after` too. */
    private readonly range?: KeysetRange,
    /** Bounds each statement (cancel, then close its connection; the chunk is read again). */
    private readonly chunkTimeoutMs?: number,
  ) {
    this.keys = ordering.keys
    this.rangeCondition =
      range === undefined
        ? undefined
        : rangePredicate(
            this.keys.map((k) => k.key),
            range,
          )
    this.last = after
    // A resume token already accounts for skip(): it points past rows the first run yielded.
    this.skip = after === undefined ? plan.skip : 0
    this.rowKeys = new RowKeys(this.keys, prefix, readSql)
    this.columns = new Map(this.keys.map((k) => [k.key.field, compareSql(k)]))
    this.progress = new KeysetProgress(
      `${plan.entityName} ordered by ${this.keys.map((k) => `${k.column.databaseName} ${k.key.direction}`).join(', ')}`,
    )
  }

  async next(size: number, signal?: AbortSignal): Promise<Chunk<E>> {
    this.paths ??= await pathsOf(this.plan.base)
    try {
      for (;;) {
        const chunk = this.plan.toManyJoins
          ? await this.readByRootKeys(size, signal)
          : await this.readRows(size, signal)
        // Rows picked by the key query can vanish before the entity query (concurrent deletes);
        // an empty chunk would end the iteration, so read on.
        if (chunk.items.length > 0 || chunk.done) return chunk
      }
    } catch (error) {
      if (error instanceof ChunkTimeoutError || !isConnectionLoss(error)) throw error
      throw new Error(
        `The keyset strategy lost its database connection while reading a chunk (${(error as Error).message}). Nothing is held between chunks and the pool replaces the connection: run again with 'after' set to the last onProgress cursor to continue after the last batch you finished`,
        { cause: error },
      )
    }
  }

  /** A chunk read that lost its connection can be read again: a failed read leaves the position (and skip()) where it was. */
  retryable(error: unknown): boolean {
    // on the caller's query runner (its transaction) there is no other connection to read on
    if (queryRunnerOf(this.plan.base) !== undefined) return false
    return (
      error instanceof ChunkTimeoutError || isConnectionLoss((error as { cause?: unknown } | undefined)?.cause ?? error)
    )
  }

  async close(): Promise<void> {
    // A read sent ahead that nobody took: wait until it has given its connection back. Its error
    // is no news to the caller, who never asked for those rows.
    await this.rawRows.close()
    await this.hydrationRunner?.release()
  }

  cursorOf(item: E): string {
    const values = this.keyValuesOf(item)
    if (values === undefined)
      throw new Error('internal: cursorOf() called with an entity this source did not yield lately')
    return encodeResumeToken(this.shape, values)
  }

  /** One query (see seekConditions) of the entities themselves: ordered, seeking, limited. */
  private async readRows(size: number, signal: AbortSignal | undefined): Promise<Chunk<E>> {
    if (this.hydrationQuiet) return this.readRowsAhead(size, signal)
    // getRawAndEntities(): TypeORM's whole path, which tells whether hydration sends statements
    let items: E[] = []
    const values: unknown[] = []
    let count = 0
    let lastRow: Record<string, unknown> | undefined
    const identities: unknown[] = []
    for (const condition of this.seekConditions()) {
      signal?.throwIfAborted() // after an abort nothing new is sent
      const query = this.rowKeys.addTo(this.seek(cloneQuery(this.plan.base), size - count, condition))
      const { raw, entities } = await sendUnlessAborted(query, signal, this.chunkTimeoutMs, () =>
        query.getRawAndEntities(),
      )
      this.hydrationQuiet = this.paths!.keyset === 'fast' && !hydrationSendsStatements(query)
      if (items.length === 0) items = entities
      else items.push(...entities)
      this.readKeys(raw, entities, values)
      this.rowKeys.identitiesInto(raw, identities)
      count += raw.length
      lastRow = raw.at(-1) ?? lastRow
      if (count === size) break
    }
    this.progress.check(identities)
    this.skip = 0
    if (lastRow !== undefined) this.last = this.rowKeys.read(lastRow)
    this.remember(items, values)
    return { items, done: count < size }
  }

  /**
   * readRows() once hydration is known to send no statements: the raw rows are loaded as
   * getRawAndEntities() loads them and hydrated in slices (see hydrateInSlices). With read-ahead,
   * the next chunk's query is sent before this chunk is hydrated: its seek position is this
   * chunk's last raw row, so the database reads the next rows while this thread hydrates.
   */
  private async readRowsAhead(size: number, signal: AbortSignal | undefined): Promise<Chunk<E>> {
    const raw = await this.rawRows.take(size, signal)
    const done = this.rawRows.drained
    // one turn of the event loop: the pool hands out a connection and the SELECT is sent
    // before hydration starts, so the server works from the start of it
    if (this.readAhead.enabled === true && this.rawRows.sendAhead(size, signal))
      await new Promise((resolve) => setImmediate(resolve))
    // the query the rows came from, but for its seek, order and limit, which hydration does not read
    const query = (this.hydrationQuery ??= this.rowKeys.addTo(cloneQuery(this.plan.base)))
    const runner = queryRunnerOf(query) ?? (this.hydrationRunner ??= this.plan.dataSource.createQueryRunner())
    const { entities } = await hydrateInSlices(query, runner, raw, HYDRATION_SLICE_ROWS)
    const values: unknown[] = []
    this.readKeys(raw, entities, values)
    this.remember(entities, values)
    return { items: entities, done }
  }

  /** The raw rows of the next `size` entities after `last` (the seek conditions in turn); moves `last` past them. */
  private async loadRaw(size: number, signal: AbortSignal | undefined): Promise<Record<string, unknown>[]> {
    let rows: Record<string, unknown>[] = []
    for (const condition of this.seekConditions()) {
      signal?.throwIfAborted()
      const { rows: raw, handed } = await loadRawRows(
        this.rowKeys.addTo(this.seek(cloneQuery(this.plan.base), size - rows.length, condition)),
        signal,
        this.chunkTimeoutMs,
      )
      // TypeORM ran the chunk's query itself: its raw rows are the same, and later runs take the public path
      if (!handed) this.paths!.keyset = 'public'
      rows = joined(rows, raw)
      if (rows.length === size) break
    }
    this.progress.check(this.rowKeys.identitiesInto(rows, []))
    this.skip = 0
    if (rows.length > 0) this.last = this.rowKeys.read(rows.at(-1)!)
    return rows
  }

  /** Two queries: the next `size` distinct root keys, then those entities with every join. */
  private async readByRootKeys(size: number, signal: AbortSignal | undefined): Promise<Chunk<E>> {
    const rootKeys: Record<string, unknown>[] = []
    for (const condition of this.seekConditions()) {
      signal?.throwIfAborted()
      const keyQuery = cloneQuery(this.plan.base)
      keyQuery.select([])
      this.keys.forEach((key, i) => keyQuery.addSelect(key.sql, `${this.prefix}o${i}`))
      this.rowKeys.addTo(keyQuery).distinct(true)
      const seeking = this.seek(keyQuery, size - rootKeys.length, condition, false)
      rootKeys.push(...(await sendUnlessAborted(seeking, signal, this.chunkTimeoutMs, () => seeking.getRawMany())))
      if (rootKeys.length === size) break
    }
    if (rootKeys.length === 0) return { items: [], done: true }

    // Load the entities in slices of keys, in order, so the parameter count stays far below
    // the drivers' limits (PostgreSQL: 65535) whatever chunkSize is.
    const primary = this.keys.flatMap((key, i) => (key.column.isPrimary ? [{ key, i }] : []))
    const arrayParameter = primary.length === 1 && this.plan.dialect.arrayParameters
    const slice = arrayParameter ? rootKeys.length : Math.max(1, Math.floor(MAX_PARAMETERS / primary.length))
    const items: E[] = []
    const values: unknown[] = []
    for (let start = 0; start < rootKeys.length; start += slice) {
      signal?.throwIfAborted()
      const entityQuery = this.rowKeys.addTo(this.ordered(cloneQuery(this.plan.base), true))
      appendCondition(entityQuery, this.rootKeyCondition(rootKeys.slice(start, start + slice), primary, arrayParameter))
      const { raw, entities } = await sendUnlessAborted(entityQuery, signal, this.chunkTimeoutMs, () =>
        entityQuery.getRawAndEntities(),
      )
      items.push(...entities)
      this.readKeys(raw, entities, values)
    }
    // the position moves only once the whole chunk is read: a failed read is read again from here
    this.progress.check(this.rowKeys.identitiesInto(rootKeys, []))
    this.skip = 0
    this.last = this.rowKeys.read(rootKeys[rootKeys.length - 1]!)
    this.remember(items, values)
    return { items, done: rootKeys.length < size }
  }

  /** rootKeyCondition() of the rows' primary key values. */
  private rootKeyCondition(
    rows: readonly Record<string, unknown>[],
    primary: readonly { key: KeyColumn; i: number }[],
    arrayParameter: boolean,
  ): Condition {
    const values = rows.map((row) => {
      const keys = this.rowKeys.read(row)
      return primary.map(({ i }) => keys[i])
    })
    return rootKeyCondition(
      values,
      primary.map(({ key }) => key),
      this.prefix,
      arrayParameter,
    )
  }

  /** Adds ORDER BY keys, a seek condition, LIMIT `size`, and the first chunk's OFFSET. */
  private seek(
    query: SelectQueryBuilder<E>,
    size: number,
    condition: Condition | undefined,
    withRest = true,
  ): SelectQueryBuilder<E> {
    const unpinned = condition?.pinsFirstKeyToNull && !this.plan.dialect.ordersByPinnedNullKey
    this.ordered(query, withRest, unpinned ? 1 : 0).limit(size)
    // the chunk that reads it sets skip to 0 once it succeeded
    if (this.skip > 0) query.offset(this.skip)
    if (condition !== undefined) appendCondition(query, condition)
    return query
  }

  /**
   * The conditions that select the rows after `last`, to be read in turn until a chunk is full.
   * Usually one: the core's OR-expanded seek, ANDed with a redundant bound on the first key
   * (`k1 >= x1`) that the database can use as an index range start (the OR form alone is often
   * only a filter, so every chunk would rescan the index from its beginning). That bound would
   * drop the NULL rows when NULLs sort after the values; then the seek is split in two index
   * ranges, the rest of the non-NULL values and then the NULLs (which all come after them).
   */
  private seekConditions(): (Condition | undefined)[] {
    if (this.range !== undefined) return this.boundedSeekConditions(this.range)
    const last = this.last
    if (last === undefined) return [undefined]
    const [first] = this.keys
    const value = last[0]
    const render = (
      keys: readonly KeyColumn[],
      extra?: string,
      extraParameters: Record<string, unknown> = {},
    ): Condition => {
      const parameters = { ...extraParameters }
      const seek = renderSeek(
        seekPredicate(
          keys.map((k) => k.key),
          last,
        ),
        this.columns,
        `${this.prefix}p`,
        parameters,
      )
      return { sql: extra === undefined ? seek : `${extra} AND ${seek}`, parameters }
    }
    if (value === null) return [{ ...render(this.keys), pinsFirstKeyToNull: first!.key.nulls === 'last' }]
    const bound = `${compareSql(first!)} ${first!.key.direction === 'asc' ? '>=' : '<='} :${this.prefix}h`
    const boundParameters = { [`${this.prefix}h`]: value }
    if (first!.key.nullable === false || first!.key.nulls === 'first')
      return [render(this.keys, bound, boundParameters)]
    const nonNull = [{ ...first!, key: { ...first!.key, nullable: false } }, ...this.keys.slice(1)]
    return [
      render(nonNull, bound, boundParameters),
      { sql: `${first!.sql} IS NULL`, parameters: {}, pinsFirstKeyToNull: true },
    ]
  }

  /**
   * seekConditions() of a run with a range: the seek after `last` and the range's condition, ANDed
   * with each stretch of the leading key that rows of the range can still lie in (batch-core's
   * leadingKeyRanges: at most the values and the NULLs), read in turn. Each stretch is a plain index
   * range from where the run stands to where the range ends, so a chunk near the end of a partition
   * stops at the partition's end instead of scanning the index on to the end of the table.
   */
  private boundedSeekConditions(range: KeysetRange): Condition[] {
    const last = this.last
    const first = this.keys[0]!
    const lower = last !== undefined ? last[0] : range.from === undefined ? undefined : leadingValue(range.from)
    const upper = range.to === undefined ? undefined : leadingValue(range.to)
    const seek =
      last === undefined
        ? undefined
        : seekPredicate(
            this.keys.map((k) => k.key),
            last,
          )
    return leadingKeyRanges(first.key, lower, upper).map((stretch) => {
      const parameters: Record<string, unknown> = {}
      const terms = [this.stretchSql(first, stretch, parameters)]
      for (const predicate of [seek, this.rangeCondition]) {
        if (predicate !== undefined) terms.push(renderSeek(predicate, this.columns, `${this.prefix}p`, parameters))
      }
      return {
        sql: terms.filter((t) => t !== '').join(' AND ') || '1 = 1',
        parameters,
        pinsFirstKeyToNull: stretch.kind === 'nulls',
      }
    })
  }

  /** One stretch of the leading key as SQL: `IS NULL`, or `>=`/`<=` its ends (`IS NOT NULL` without ends). */
  private stretchSql(first: KeyColumn, stretch: LeadingKeyRange, parameters: Record<string, unknown>): string {
    if (stretch.kind === 'nulls') return `${first.sql} IS NULL`
    const terms: string[] = []
    if (stretch.atLeast !== undefined) {
      parameters[`${this.prefix}lo`] = stretch.atLeast
      terms.push(`${compareSql(first)} >= :${this.prefix}lo`)
    }
    if (stretch.atMost !== undefined) {
      parameters[`${this.prefix}hi`] = stretch.atMost
      terms.push(`${compareSql(first)} <= :${this.prefix}hi`)
    }
    if (terms.length === 0 && first.key.nullable !== false) terms.push(`${first.sql} IS NOT NULL`)
    return terms.join(' AND ')
  }

  /**
   * ORDER BY the keys (from `from`: a leading key the WHERE pins to NULL can be left out), then,
   * unless it is the DISTINCT key query, the terms that order joined rows.
   */
  private ordered(query: SelectQueryBuilder<E>, withRest: boolean, from = 0): SelectQueryBuilder<E> {
    return query.orderBy({
      ...keysetOrderBy(this.keys.slice(from), this.plan.dialect),
      ...(withRest ? this.ordering.rest : {}),
    })
  }

  /** Appends the key values of each entity hydrated from `raw` to `values`, when they are kept. */
  private readKeys(raw: readonly Record<string, unknown>[], entities: readonly E[], values: unknown[]): void {
    if (this.retain === 0) return
    for (const row of this.rowKeys.firstRows(raw, entities)) this.rowKeys.readInto(row, values)
  }

  /**
   * Keeps a chunk's entities and key values for `cursorOf()`, which the engine calls for the
   * last entity of a batch (or each entity without batches). That entity is in the latest chunk
   * the engine has taken; after it, at most `prefetch` chunks are queued and one more may have
   * returned from `next()` without being queued yet: so prefetch + 2 chunks are enough (the
   * caller passes one more to spare). Kept as arrays, one per chunk: a map entry per entity cost
   * a measurable share of a run. Tested by the conformance resume scenario (every token resumes).
   */
  private remember(items: readonly E[], values: unknown[]): void {
    if (this.retain === 0) return
    this.recent.push({ items, values, hint: 0 })
    if (this.recent.length > this.retain) this.recent.shift()
  }

  /** The key values of a remembered entity: found by identity, starting where the last call left off. */
  private keyValuesOf(item: E): unknown[] | undefined {
    const candidates = this.lastFound === undefined ? this.recent : [this.lastFound, ...this.recent]
    for (const chunk of candidates) {
      let index = chunk.items.indexOf(item, chunk.hint)
      if (index < 0 && chunk.hint > 0) index = chunk.items.lastIndexOf(item, chunk.hint - 1)
      if (index < 0) continue
      chunk.hint = index
      this.lastFound = chunk
      const width = this.rowKeys.width
      return chunk.values.slice(index * width, index * width + width)
    }
    return undefined
  }
}

/** One chunk's entities and their sort-key values (flat: `width` values per entity, in order). */
interface ChunkKeys<E> {
  readonly items: readonly E[]
  readonly values: readonly unknown[]
  /** Where the last lookup found its entity. */
  hint: number
}

/** The ORDER BY of a keyset ordering, NULL placement written out where the database allows it. */
export function keysetOrderBy(keys: readonly KeyColumn[], dialect: Dialect): OrderByCondition {
  const orderBy: OrderByCondition = {}
  for (const { sql, key } of keys) {
    const order = key.direction === 'asc' ? 'ASC' : 'DESC'
    orderBy[sql] =
      dialect.orderByNulls && key.nullable !== false
        ? { order, nulls: key.nulls === 'first' ? 'NULLS FIRST' : 'NULLS LAST' }
        : order
  }
  return orderBy
}

/** `first` then `rest`, without copying when `first` is empty (the usual case on the hot path). */
function joined<T>(first: T[], rest: T[]): T[] {
  return first.length === 0 ? rest : first.concat(rest)
}

/** Parameters per entity query when loading a chunk's root keys (drivers cap them; PostgreSQL at 65535). */
export const MAX_PARAMETERS = 10_000

/**
 * `pk = ANY(:ids)` (one array parameter), `pk IN (:...ids)`, or `(a = :x AND b = :y) OR …` for
 * composite keys: the rows whose primary key is one of `values` (one array per entity, in the
 * order of `primary`).
 */
export function rootKeyCondition(
  values: readonly (readonly unknown[])[],
  primary: readonly KeyColumn[],
  prefix: string,
  arrayParameter: boolean,
): Condition {
  const parameters: Record<string, unknown> = {}
  if (primary.length === 1) {
    parameters[`${prefix}ids`] = values.map((keys) => keys[0])
    const column = compareSql(primary[0]!)
    return { sql: arrayParameter ? `${column} = ANY(:${prefix}ids)` : `${column} IN (:...${prefix}ids)`, parameters }
  }
  const sql = values
    .map((keys, r) => {
      const terms = primary.map((key, i) => {
        const name = `${prefix}id${r}_${i}`
        parameters[name] = keys[i]
        return `${compareSql(key)} = :${name}`
      })
      return `(${terms.join(' AND ')})`
    })
    .join(' OR ')
  return { sql, parameters }
}

/** A WHERE fragment with `:named` parameters. */
export interface Condition {
  readonly sql: string
  readonly parameters: Record<string, unknown>
  /** Every row it selects has a NULL first key (so that key need not be in the ORDER BY). */
  readonly pinsFirstKeyToNull?: boolean
}

/** ANDs a condition and its parameters to the query, the user's own conditions kept in brackets (internals.ts). */
export function appendCondition<E extends ObjectLiteral>(
  query: SelectQueryBuilder<E>,
  { sql, parameters }: Condition,
): void {
  appendSql(query, sql)
  query.setParameters(parameters)
}

/**
 * Runs `send` (a TypeORM call that runs `query`) on a connection taken here, so that an abort while
 * the pool hands it out sends nothing, an abort while the statement runs cancels it on the server,
 * and `chunkTimeoutMs` bounds it (batch-core's boundStatement). Without a signal, or on the
 * caller's own query runner (a cancel would abort the caller's transaction), it is `send()`.
 */
async function sendUnlessAborted<E extends ObjectLiteral, T>(
  query: SelectQueryBuilder<E>,
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
  send: () => Promise<T>,
): Promise<T> {
  if (signal === undefined || queryRunnerOf(query) !== undefined) return send()
  const dataSource = dataSourceOf(query)
  const runner = dataSource.createQueryRunner(dataSource.defaultReplicationModeForReads())
  try {
    const connection: unknown = await runner.connect()
    signal.throwIfAborted()
    query.setQueryRunner(runner)
    const controls = statementControls(connection, dataSource)
    const onAbort = (): void => void controls.cancel()
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      return await boundStatement(send(), { timeoutMs, ...controls, what: "The keyset chunk's SELECT" })
    } finally {
      signal.removeEventListener('abort', onAbort)
      await controls.cancelSettled()
    }
  } finally {
    await runner.release()
  }
}
