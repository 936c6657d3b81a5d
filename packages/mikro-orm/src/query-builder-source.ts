import {
  ChunkTimeoutError,
  type ChunkSource,
  encodeResumeToken,
  type KeysetRange,
  KeysetProgress,
  type KeyShape,
  ReadAheadRows,
  type RowLoad,
} from '@batchyield/batch-core'
import {
  type EntityManager,
  type EntityMetadata,
  type EntityProperty,
  helper,
  QueryFlag,
  type Transaction,
  Utils,
} from '@mikro-orm/core'
import { chunkEntityManager, contextEntityManager } from './chunk-entity-manager.js'
import { chunkStatements } from './chunk-statements.js'
import { connectionLostError, isConnectionLost } from './connection-lost.js'
import { exactSortValues } from './exact-sort-values.js'
import type { KeysetOrdering, OrderEntry } from './keyset-ordering.js'
import { boundValues, compareKeys, entityIdentity, keyValues } from './keyset-source.js'
import {
  cloneWithout,
  placeholderQuery,
  queryBuilderState,
  queryBuilderTransaction,
  retargetQueryBuilder,
} from './internals.js'
import { regionsFor, type SeekRegion } from './seek-filter.js'
import { openServerSideCursor, type ServerSideCursor } from './server-side-cursor.js'

/**
 * What both query-builder sources share, resolved once when `qb.aiterator()` is called: a snapshot of
 * the caller's query builder (its own clone, so later changes to the caller's do not reach the run)
 * and what is read from it.
 */
export interface QueryBuilderSpec {
  /** The caller's query builder as it was at the call; every chunk query is a clone of it. */
  readonly qb: SqlQueryBuilder
  /** The EntityManager the query builder was made by (`em.createQueryBuilder`). */
  readonly em: EntityManager
  readonly meta: EntityMetadata
  /** The root alias (`'b'` in `createQueryBuilder(Book, 'b')`). */
  readonly alias: string
  /** The query joins a to-many relation (selected or only filtered on): its SQL rows are not entities. */
  readonly toMany: boolean
  /** `alias.property` of the key properties the query builder's partial `select()` leaves out (the run needs their values). */
  readonly extraFields: readonly string[]
  /** The query builder's `offset()`: entities skipped before the first one. */
  readonly offset: number | undefined
  /** See `QuerySpec.progressEvery`: the items whose resume token onProgress will ask for. */
  readonly progressEvery: number | undefined
  /** The engine's resolved `chunkTimeoutMs`: the longest one statement of a chunk may take. */
  readonly chunkTimeoutMs: number | undefined
}

/**
 * Keyset strategy over a query builder: each chunk is the caller's query builder, cloned, with the seek
 * condition ANDed to its conditions (`andWhere`), the key order, and `limit(chunkSize)`, loaded with the
 * query builder's own `getResultList()` in a fresh fork. So the entities are the query builder's own:
 * its joins, selected fields and conditions on joined rows included. Nothing is held between chunks.
 *
 * With to-many joins a chunk is two queries: the next `chunkSize` distinct root keys (`SELECT DISTINCT
 * <sort keys> … ORDER BY … LIMIT`, the joins and conditions as written), then the query builder's own query
 * restricted to them (`pk IN (…)`). MikroORM's own pagination of a limited to-many query groups every
 * remaining row on each chunk; the distinct keys stop at `chunkSize`.
 *
 * Seek regions, exact timestamps, resume tokens and the progress guard are the ones `em.aiterator`'s
 * keyset strategy uses (seek-filter, exact-sort-values, batch-core), so both read the same rows.
 */
export function openQueryBuilderKeysetSource(
  spec: QueryBuilderSpec,
  ordering: KeysetOrdering,
  trailingOrder: readonly OrderEntry[],
  shape: KeyShape,
  after: readonly unknown[] | undefined,
  range?: KeysetRange,
): ChunkSource<object> {
  const { meta, alias } = spec
  const base = contextEntityManager(spec.em)
  const platform = base.getPlatform()
  const fields = ordering.keys.map((k) => k.field)
  // PostgreSQL reads a `k IS NULL` range in order only when k stays in the ORDER BY
  const keepNullKeyInOrder = base.getDriver().getDependencies().includes('pg')
  const exact = exactSortValues(base, meta, ordering.keys, ordering.columns, queryBuilderState(spec.qb).schema)
  const compareKey = compareKeys(meta, ordering, platform)
  const toBound = boundValues(meta, ordering, platform)
  const progress = new KeysetProgress(`${meta.className} (query builder) ordered by ${fields.join(', ')}`)
  const identity = entityIdentity(fields, meta.className)
  const keysOf = new WeakMap<object, readonly unknown[]>()
  const pkFields = meta.primaryKeys
  let lastValues = after
  let first = true
  let read = 0

  const exactPositions = (count: number): number[] => {
    const positions: number[] = []
    const every = spec.progressEvery
    if (every !== undefined) {
      for (let i = (every - (read % every) - 1 + every) % every; i < count - 1; i += every) positions.push(i)
    }
    if (count > 0) positions.push(count - 1)
    return positions
  }
  const valuesAt = (items: readonly object[], positions: readonly number[]): unknown[][] =>
    positions.map((position) => keyValues(items[position]!, fields, meta.className))

  // outside a transaction an abort cancels the statement in flight (see chunkStatements)
  const statements = chunkStatements(base, spec.chunkTimeoutMs)

  /**
   * One region's entities: the query builder's own query, seeking, ordered by the keys, limited. Its
   * statements run on `ctx` (see chunkStatements) and end when `signal` aborts.
   */
  const loadRegion = async (
    fork: EntityManager,
    ctx: Transaction | undefined,
    region: SeekRegion | undefined,
    limit: number,
    signal: AbortSignal | undefined,
  ): Promise<object[]> => {
    // MariaDB/MySQL sort a `k IS NULL` range again (filesort) while k is in the ORDER BY; it is constant there
    const orderBy = region?.firstKeyIsNull && !keepNullKeyInOrder ? ordering.orderBy.slice(1) : ordering.orderBy
    const offset = first ? spec.offset : undefined
    if (!spec.toMany) {
      const chunk = chunkQuery(spec, fork, ctx, signal)
      if (region !== undefined) chunk.andWhere(region.filter)
      chunk.orderBy([...orderBy, ...trailingOrder]).limit(limit, offset ?? 0)
      return chunk.getResultList()
    }
    const keys = cloneWithout(spec.qb, ['limit', 'offset', 'orderBy'])
    if (ctx !== undefined) retargetQueryBuilder(keys, fork, ctx)
    abortOn(keys, signal)
    keys
      .select(
        fields.map((field) => `${alias}.${field}`),
        true,
      )
      .setFlag(QueryFlag.DISABLE_PAGINATE)
    if (region !== undefined) keys.andWhere(region.filter)
    keys.orderBy([...orderBy]).limit(limit, offset ?? 0)
    const rows = await keys.execute<Record<string, unknown>[]>('all', true)
    if (rows.length === 0) return []
    signal?.throwIfAborted() // after an abort nothing new is sent
    const chunk = chunkQuery(spec, fork, ctx, signal)
    chunk.andWhere(
      keyCondition(
        pkFields,
        rows.map((row) => pkFields.map((pk) => row[pk])),
      ),
    )
    chunk.orderBy([...orderBy, ...trailingOrder])
    return chunk.getResultList()
  }

  const readChunk = async (
    size: number,
    signal: AbortSignal,
  ): Promise<{ items: object[]; fork: EntityManager } | undefined> => {
    const regions = regionsFor(ordering.keys, lastValues, range, toBound, compareKey)
    if (regions.length === 0) return undefined
    const fork = chunkEntityManager(base)
    // a query builder made inside a transaction runs in it
    const ctx =
      queryBuilderTransaction(spec.qb) === undefined
        ? ((await statements.context(fork, signal)) as Transaction | undefined)
        : undefined
    const items: object[] = []
    const load = async () => {
      for (const region of regions) {
        if (items.length === size) break
        signal.throwIfAborted() // after an abort nothing new is sent
        const statement = statements.bounded(signal)
        const limit = size - items.length
        items.push(...(await statement.run(() => loadRegion(fork, ctx, region, limit, statement.signal))))
      }
    }
    // populate's queries through the fork run on the same context
    await (ctx === undefined ? load() : statements.on(fork, signal, load))
    return { items, fork }
  }

  const nextChunk = async (size: number, signal: AbortSignal): Promise<{ items: object[]; done: boolean }> => {
    let chunk = await readChunk(size, signal)
    if (chunk === undefined) return { items: [], done: true }
    let positions = exactPositions(chunk.items.length)
    let values = valuesAt(chunk.items, positions)
    if (exact !== undefined) {
      // A row whose key changed between the two reads (a concurrent write) makes the chunk be read again.
      for (let attempt = 1; ; attempt++) {
        const exactRead = await statements.readExact(exact, chunk.fork, chunk.items, positions, values, signal)
        values = exactRead.values
        if (exactRead.current || attempt === 3) break
        chunk = (await readChunk(size, signal))!
        positions = exactPositions(chunk.items.length)
        values = valuesAt(chunk.items, positions)
      }
    }
    progress.check(chunk.items.map(identity))
    first = false
    read += chunk.items.length
    positions.forEach((position, n) => keysOf.set(chunk.items[position]!, values[n]!))
    if (values.length > 0) lastValues = values.at(-1)
    return { items: chunk.items, done: chunk.items.length < size }
  }

  return {
    async next(size, signal) {
      try {
        return await nextChunk(size, signal)
      } catch (error) {
        if (error instanceof ChunkTimeoutError || !isConnectionLost(error) || signal.aborted) throw error
        throw connectionLostError(
          error,
          `The keyset strategy lost its database connection while reading the chunk after ${read} rows (the session was terminated or the connection dropped): ${error.message}. ` +
            'Nothing is held between chunks and the pool replaces the connection: run again with after set to the last onProgress cursor to continue after the last batch you finished',
        )
      }
    },
    close() {},
    cursorOf(item) {
      return encodeResumeToken(shape, keysOf.get(item) ?? keyValues(item, fields, meta.className))
    },
    /** As em.aiterator's keyset source: the position moves only once a whole chunk is read. */
    retryable(error) {
      // inside the caller's transaction its connection is the only one: reading again cannot help
      if (base.getTransactionContext() !== undefined) return false
      return (
        error instanceof ChunkTimeoutError ||
        isConnectionLost(error) ||
        isConnectionLost((error as { cause?: unknown } | undefined)?.cause)
      )
    },
  }
}

/**
 * Cursor strategy over a query builder (PostgreSQL): one server-side cursor over the root keys of the
 * caller's query (its joins, conditions and order, the primary key appended), on one connection and
 * snapshot; each chunk fetches the next `chunkSize` keys and loads their entities with the query
 * builder's own `getResultList()` restricted to them (`pk IN (…)`), in the cursor's transaction, in a
 * fresh fork, and puts them back in cursor order. A row repeated by a to-many join is dropped (its
 * repeats are adjacent: the order is checked for that before the run).
 */
export function openQueryBuilderCursorSource(
  spec: QueryBuilderSpec,
  orderBy: readonly OrderEntry[],
): ChunkSource<object> {
  const { meta, alias } = spec
  const base = contextEntityManager(spec.em)
  const pkFields = meta.primaryKeys
  const pkColumns = pkFields.map((pk) => (meta.properties[pk] as EntityProperty).fieldNames[0]!)
  let cursor: ServerSideCursor | undefined
  let toSkip = spec.offset ?? 0
  let lastHash: string | undefined
  let rows = 0

  const fetchKeys = async (size: number, signal: AbortSignal | undefined): Promise<RowLoad<unknown[]>> => {
    const fetched = await cursor!.fetch(size, signal)
    const keys: unknown[][] = []
    for (const row of fetched) {
      const key = pkColumns.map((column) => row[column])
      const hash = Utils.getPrimaryKeyHash(key as string[])
      if (hash === lastHash) continue
      lastHash = hash
      if (toSkip > 0) toSkip--
      else keys.push(key)
    }
    return { rows: keys, exhausted: fetched.length < size }
  }
  const reader = new ReadAheadRows(fetchKeys)

  const open = async (signal: AbortSignal): Promise<ServerSideCursor> => {
    const keys = cloneWithout(spec.qb, ['limit', 'offset', 'orderBy'])
    keys.select(pkFields.map((pk) => `${alias}.${pk}`)).orderBy([...orderBy])
    return openServerSideCursor(base, placeholderQuery(keys), spec.qb.connectionType ?? 'read', {
      chunkTimeoutMs: spec.chunkTimeoutMs,
      signal,
    })
  }

  const readChunk = async (size: number, signal: AbortSignal): Promise<{ items: object[]; done: boolean }> => {
    cursor ??= await open(signal)
    const keys = await reader.take(size, signal)
    if (keys.length === 0) return { items: [], done: true }
    const done = reader.drained
    signal.throwIfAborted() // once the run is over (abort, early exit), no chunk query is sent
    const fork = chunkEntityManager(base)
    // the chunk's query runs on the cursor's connection and snapshot
    const chunk = chunkQuery(spec, fork, cursor.ownsTransaction ? cursor.ctx : undefined)
    chunk.andWhere(keyCondition(pkFields, keys))
    const byKey = new Map<string, object>()
    for (const entity of await chunk.getResultList())
      byKey.set(Utils.getPrimaryKeyHash((helper(entity).getPrimaryKeys(true) ?? []) as unknown as string[]), entity)
    const items = keys
      .map((key) => byKey.get(Utils.getPrimaryKeyHash(key as string[])))
      .filter((e): e is object => e !== undefined)
    return { items, done }
  }

  const lost = (error: Error): Error =>
    connectionLostError(
      error,
      `The cursor strategy lost its database connection after reading ${rows} rows (the session was terminated or the connection dropped): ${error.message}. ` +
        `A server-side cursor cannot continue on another connection; run again, or use strategy: 'keyset', which can resume from its last onProgress cursor`,
    )

  return {
    async next(size, signal) {
      try {
        const chunk = await readChunk(size, signal)
        rows += chunk.items.length
        return chunk
      } catch (error) {
        throw isConnectionLost(error) ? lost(error) : error
      }
    },
    async close() {
      try {
        await reader.close()
        await cursor?.close()
      } catch (error) {
        throw isConnectionLost(error) ? lost(error) : error
      }
    },
  }
}

/**
 * A clone of the caller's query builder that loads into `fork` (and, for the cursor, runs in `ctx`), with
 * its own `limit()`/`offset()` and result cache left out (the run applies them itself; a cached chunk
 * would be a stale chunk).
 *
 * MikroORM internal: a query builder keeps the EntityManager it maps its rows into and its transaction
 * in the fields `em` and `context` (protected in 7.x's typings), and offers no public way to run a clone
 * elsewhere. Loading into the caller's EntityManager would grow its identity map with every row, so
 * each chunk's clone gets the chunk's fork. Checked when `qb.aiterator()` is called
 * (`assertRetargetable` in internals.ts): a release without those fields gets an error, never unbounded memory.
 */
function chunkQuery(
  spec: QueryBuilderSpec,
  fork: EntityManager,
  ctx: Transaction | undefined,
  signal?: AbortSignal,
): SqlQueryBuilder {
  const chunk = cloneWithout(spec.qb, ['limit', 'offset'])
  retargetQueryBuilder(chunk, fork, ctx)
  chunk.cache(false)
  if (spec.extraFields.length > 0) chunk.addSelect([...spec.extraFields])
  abortOn(chunk, signal)
  return chunk
}

/**
 * Ends `qb`'s query when `signal` aborts (`setAbortOptions`, MikroORM 7.2; before it the query runs to
 * its end, and the run's abort is seen when it does).
 */
function abortOn(qb: SqlQueryBuilder, signal: AbortSignal | undefined): void {
  if (signal !== undefined && typeof qb.setAbortOptions === 'function') qb.setAbortOptions({ signal })
}

/** `{ id: { $in: [...] } }`, or for a composite key the tuple form MikroORM understands. */
function keyCondition(pkFields: readonly string[], keys: readonly unknown[][]): object {
  if (pkFields.length === 1) return { [pkFields[0]!]: { $in: keys.map((key) => key[0]) } }
  return { [Utils.getPrimaryKeyHash(pkFields as string[])]: { $in: keys } }
}

/** What the sources use of `@mikro-orm/sql`'s QueryBuilder, typed structurally. */
export interface SqlQueryBuilder {
  readonly alias: string
  readonly type: string
  readonly connectionType?: 'read' | 'write'
  readonly mainAlias: { readonly aliasName: string; readonly meta?: EntityMetadata }
  clone(reset?: readonly string[]): SqlQueryBuilder
  select(fields: string[], distinct?: boolean): SqlQueryBuilder
  addSelect(fields: string[]): SqlQueryBuilder
  andWhere(cond: object): SqlQueryBuilder
  orderBy(orderBy: OrderEntry[]): SqlQueryBuilder
  limit(limit: number | undefined, offset?: number): SqlQueryBuilder
  setFlag(flag: QueryFlag): SqlQueryBuilder
  cache(config: boolean): SqlQueryBuilder
  execute<T>(method: 'all', mapResults: boolean): Promise<T>
  /** MikroORM 7.2: the signal (and strategy) the query's execution takes. */
  setAbortOptions?(options: { signal?: AbortSignal }): SqlQueryBuilder
  getResultList(): Promise<object[]>
  toQuery(): { sql: string; params: readonly unknown[] }
}
