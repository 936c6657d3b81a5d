import { type ChunkSource, ReadAheadRows, type RowLoad } from '@batchyield/batch-core'
import { type ConnectionException, type EntityManager, type EntityProperty, helper, Utils } from '@mikro-orm/core'
import { chunkEntityManager, contextEntityManager } from './chunk-entity-manager.js'
import { connectionLostError, isConnectionLost } from './connection-lost.js'
import type { OrderEntry } from './keyset-ordering.js'
import { placeholderQuery, plainCursorQuery } from './internals.js'
import { createInSlices, findInSlices, nextTurn, type PlainFind, planPlainFind } from './find-in-slices.js'
import { andWhere, type QuerySpec } from './query-spec.js'
import { openServerSideCursor, type ServerSideCursor } from './server-side-cursor.js'

/**
 * Cursor strategy (PostgreSQL): one server-side cursor for the whole run, in the requested order
 * (the primary key appended), on one connection and snapshot.
 *
 * - A plain read (what {@link planPlainFind} accepts: nothing populated) declares the cursor over
 *   the very SELECT `em.find` would run, and each chunk creates its entities from the fetched rows
 *   as em.find would (`createInSlices`), in a fresh fork: one statement per chunk. With read-ahead
 *   (`prefetch` >= 1) the next chunk's FETCH is sent before this chunk's entities are created.
 * - Otherwise the cursor runs over the primary keys only, and each chunk fetches the next
 *   `chunkSize` keys, then loads their entities with one `em.find` (populate, fields, filters as
 *   given) and puts them back in cursor order: populated relations load once per chunk and to-many
 *   collections are complete.
 *
 * Holds one connection (outside a transaction: its own read-only REPEATABLE READ transaction)
 * from the first chunk until `close()`; batch-core's `CursorSession` decides what is sent on it
 * and whether it may go back to the pool (see server-side-cursor.ts). After an abort or an early
 * exit nothing new is sent: a FETCH in flight is cancelled, and no chunk's entities are loaded.
 */
export function openCursorSource(spec: QuerySpec, orderBy: readonly OrderEntry[]): ChunkSource<object> {
  const base = contextEntityManager(spec.em)
  const pkFields = spec.meta.primaryKeys
  const pkColumns = pkFields.map((pk) => (spec.meta.properties[pk] as EntityProperty).fieldNames[0]!)
  const findOptions = { ...spec.findOptions, orderBy: [...orderBy] }
  let cursor: ServerSideCursor | undefined
  /** Set when the cursor reads whole rows (a plain read); undefined while it reads keys. */
  let plain: { find: PlainFind; mapRow(row: Record<string, unknown>): object } | undefined
  let toSkip = spec.offset ?? 0
  let lastHash: string | undefined

  /**
   * The cursor's next rows of distinct entities: FETCH `size`, dropping a row that repeats the one
   * before it (a join on a to-many condition repeats a row's key; the primary key ends the order,
   * so repeats are adjacent) and the first `offset` ones. Fewer rows than fetched are not the end.
   */
  const fetchRows = async (
    size: number,
    signal: AbortSignal | undefined,
  ): Promise<RowLoad<Record<string, unknown>>> => {
    const fetched = await cursor!.fetch(size, signal)
    const rows: Record<string, unknown>[] = []
    for (const row of fetched) {
      const hash = Utils.getPrimaryKeyHash(pkColumns.map((column) => row[column]) as string[])
      if (hash === lastHash) continue
      lastHash = hash
      if (toSkip > 0) toSkip--
      else rows.push(row)
    }
    return { rows, exhausted: fetched.length < size }
  }
  const reader = new ReadAheadRows(fetchRows)

  let rows = 0

  return {
    async next(size, signal) {
      try {
        const chunk = await readChunk(size, signal)
        rows += chunk.items.length
        return chunk
      } catch (error) {
        // a statement that failed because the connection went (an 'error' event may come first)
        const loss = isConnectionLost(error) ? error : signal.aborted ? undefined : cursor?.lostConnection
        throw loss instanceof Error ? lostConnection(loss, rows) : error
      }
    },
    async close() {
      try {
        // the session cancels a FETCH sent ahead that nobody will read; the reader then drops its outcome
        await cursor?.close()
        await reader.close()
      } catch (error) {
        throw isConnectionLost(error) ? lostConnection(error, rows) : error
      }
    },
  }

  async function open(signal: AbortSignal): Promise<ServerSideCursor> {
    const connectionType = (spec.findOptions.connectionType as 'read' | 'write' | undefined) ?? 'read'
    const cursorOptions = { chunkTimeoutMs: spec.chunkTimeoutMs, signal }
    const planner = chunkEntityManager(base)
    const find = await planPlainFind(planner, spec.entityName, andWhere(spec.where()), findOptions)
    if (find === undefined)
      return openServerSideCursor(base, await keyQuery(spec, orderBy), connectionType, cursorOptions)
    // The rows are mapped as qb.execute maps them, with the query builder's populate: em.find's, plus
    // the joins MikroORM adds on its own (the key of an inverse one-to-one, `autoJoinOneToOneOwner`).
    // Without it (the public path), the keys-only cursor below loads each chunk with em.find: slower, same entities.
    const rowsQuery = await plainCursorQuery(planner, spec.meta, find.condition, find.query)
    if (rowsQuery === undefined)
      return openServerSideCursor(base, await keyQuery(spec, orderBy), connectionType, cursorOptions)
    const opened = await openServerSideCursor(base, rowsQuery.query, connectionType, cursorOptions)
    // Those joins are to-one (a plain read populates nothing), and fetchRows drops a row repeating the
    // one before it, so qb.execute's merge of repeated rows (mergeJoinedResult) has nothing to merge.
    plain = { find, mapRow: rowsQuery.mapRow }
    return opened
  }

  async function readChunk(size: number, signal: AbortSignal): Promise<{ items: object[]; done: boolean }> {
    cursor ??= await open(signal)
    const taken = await reader.take(size, signal)
    if (taken.length === 0) return { items: [], done: true }
    const done = reader.drained
    // The next chunk's FETCH goes out before this chunk's entities are created, so the server
    // reads the next rows while this thread creates entities. It asks for as many rows as the
    // engine's latest request: the engine bounds requests by maxChunkBytes too.
    if (plain !== undefined && spec.readAhead && reader.sendAhead(size, signal)) await nextTurn()
    // once the run is over (abort, early exit), no chunk query is sent
    signal.throwIfAborted()
    const fork = chunkEntityManager(base)
    // Load on the cursor's connection (and snapshot); afterwards the fork is the caller's again,
    // so flushing the chunk does not write into the cursor's read-only transaction.
    if (cursor.ownsTransaction) fork.setTransactionContext(cursor.ctx)
    try {
      if (plain !== undefined) {
        const mapped = taken.map(plain.mapRow)
        return { items: await createInSlices(fork, plain.find, mapped), done }
      }
      const keys = taken.map((row) => pkColumns.map((column) => row[column]))
      const byKey = new Map<string, object>()
      const loaded = await findInSlices(fork, spec.entityName, andWhere(spec.where(), keyCondition(pkFields, keys)), {
        ...findOptions,
        signal,
      })
      for (const entity of loaded)
        byKey.set(Utils.getPrimaryKeyHash((helper(entity).getPrimaryKeys(true) ?? []) as unknown as string[]), entity)
      // Own transaction: one snapshot, every key has its row. In a READ COMMITTED caller transaction
      // a row deleted since the cursor opened is gone: like keyset, it is not yielded.
      const items = keys
        .map((key) => byKey.get(Utils.getPrimaryKeyHash(key as string[])))
        .filter((e): e is object => e !== undefined)
      return { items, done }
    } finally {
      if (cursor.ownsTransaction) fork.resetTransactionContext()
    }
  }
}

function lostConnection(error: Error, rows: number): ConnectionException {
  return connectionLostError(
    error,
    `The cursor strategy lost its database connection after reading ${rows} rows (the session was terminated or the connection dropped): ${error.message}. ` +
      `A server-side cursor cannot continue on another connection; run again, or use strategy: 'keyset', which can resume from its last onProgress cursor`,
  )
}

/** `SELECT <primary key> … WHERE … ORDER BY …` as MikroORM's query builder renders it (filters applied). */
async function keyQuery(
  spec: QuerySpec,
  orderBy: readonly OrderEntry[],
): Promise<{ sql: string; params: readonly unknown[] }> {
  const em = chunkEntityManager(contextEntityManager(spec.em)) as EntityManager & {
    createQueryBuilder(entityName: unknown): QueryBuilderLike
  }
  const { meta } = spec
  // em.find also takes a bare primary key value as its condition
  const filter = spec.where()
  const where =
    filter === undefined
      ? {}
      : Utils.isPrimaryKey(filter, meta.compositePK)
        ? { [Utils.getPrimaryKeyHash(meta.primaryKeys)]: filter }
        : filter
  const qb = em
    .createQueryBuilder(spec.entityName)
    .select([...meta.primaryKeys])
    .where(where as object)
    .orderBy([...orderBy])
  const { schema, filters, indexHint } = spec.findOptions as { schema?: string; filters?: unknown; indexHint?: string }
  if (schema !== undefined) qb.withSchema(schema)
  if (indexHint !== undefined) qb.indexHint(indexHint)
  await qb.applyFilters(filters)
  return placeholderQuery(qb)
}

interface QueryBuilderLike {
  select(fields: string[]): QueryBuilderLike
  where(where: object): QueryBuilderLike
  orderBy(orderBy: OrderEntry[]): QueryBuilderLike
  withSchema(schema: string): QueryBuilderLike
  indexHint(hint: string): QueryBuilderLike
  applyFilters(filters: unknown): Promise<void>
  toQuery(): { sql: string; params: readonly unknown[] }
}

/** `{ id: { $in: [...] } }`, or for a composite key the tuple form MikroORM understands. */
function keyCondition(pkFields: readonly string[], keys: readonly unknown[][]): object {
  if (pkFields.length === 1) return { [pkFields[0]!]: { $in: keys.map((key) => key[0]) } }
  return { [Utils.getPrimaryKeyHash(pkFields as string[])]: { $in: keys } }
}
