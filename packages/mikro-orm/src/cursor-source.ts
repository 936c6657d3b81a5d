import type { ChunkSource } from '@batchyield/batch-core'
import { ConnectionException, type EntityManager, type EntityProperty, helper, Utils } from '@mikro-orm/core'
import { chunkEntityManager, contextEntityManager } from './chunk-entity-manager.js'
import { connectionLostError, isConnectionLost } from './connection-lost.js'
import type { OrderEntry } from './keyset-ordering.js'
import { findInSlices } from './find-in-slices.js'
import { andWhere, type QuerySpec } from './query-spec.js'
import { openServerSideCursor, type ServerSideCursor } from './server-side-cursor.js'

/**
 * Cursor strategy (PostgreSQL): one server-side cursor over the primary keys of the matching
 * rows, in the requested order (the primary key appended), for the whole run. Each chunk fetches
 * the next `chunkSize` keys, then loads their entities with one `em.find` (where, populate,
 * fields, filters as given) in a fresh fork, on the cursor's connection and snapshot, and puts
 * them back in cursor order. Populated relations therefore load once per chunk and to-many
 * collections are complete.
 *
 * Holds one connection (outside a transaction: its own read-only REPEATABLE READ transaction)
 * from the first chunk until `close()`. A killed session makes the next statement fail at once;
 * the connection then goes back to the pool, which drops it.
 */
export function openCursorSource(spec: QuerySpec, orderBy: readonly OrderEntry[]): ChunkSource<object> {
  const base = contextEntityManager(spec.em)
  const pkFields = spec.meta.primaryKeys
  const pkColumns = pkFields.map((pk) => (spec.meta.properties[pk] as EntityProperty).fieldNames[0]!)
  let cursor: ServerSideCursor | undefined
  let toSkip = spec.offset ?? 0
  let lastHash: string | undefined
  let exhausted = false

  /** The next `size` distinct primary keys (a join on a to-many condition repeats a row's key). */
  const nextKeys = async (size: number): Promise<unknown[][]> => {
    const keys: unknown[][] = []
    while (keys.length < size && !exhausted) {
      const want = size - keys.length
      const rows = await cursor!.fetch(want)
      if (rows.length < want) exhausted = true
      for (const row of rows) {
        const key = pkColumns.map((column) => row[column])
        const hash = Utils.getPrimaryKeyHash(key as string[])
        if (hash === lastHash) continue
        lastHash = hash
        if (toSkip > 0) toSkip--
        else keys.push(key)
      }
    }
    return keys
  }

  let rows = 0

  return {
    async next(size, signal) {
      try {
        const chunk = await readChunk(size, signal)
        rows += chunk.items.length
        return chunk
      } catch (error) {
        throw isConnectionLost(error) ? lostConnection(error, rows) : error
      }
    },
    async close() {
      try {
        await cursor?.close()
      } catch (error) {
        throw isConnectionLost(error) ? lostConnection(error, rows) : error
      }
    },
  }

  async function readChunk(size: number, signal: AbortSignal): Promise<{ items: object[]; done: boolean }> {
    cursor ??= await openServerSideCursor(base, await keyQuery(spec, orderBy), (spec.findOptions.connectionType as 'read' | 'write' | undefined) ?? 'read')
    const keys = await nextKeys(size)
    if (keys.length === 0) return { items: [], done: true }
    const fork = chunkEntityManager(base)
    // Load on the cursor's connection (and snapshot); afterwards the fork is the caller's again,
    // so flushing the chunk does not write into the cursor's read-only transaction.
    if (cursor.ownsTransaction) fork.setTransactionContext(cursor.ctx)
    try {
      const byKey = new Map<string, object>()
      const loaded = await findInSlices(fork, spec.entityName, andWhere(spec.where, keyCondition(pkFields, keys)), {
        ...spec.findOptions,
        orderBy: [...orderBy],
        signal,
      })
      for (const entity of loaded) byKey.set(Utils.getPrimaryKeyHash((helper(entity).getPrimaryKeys(true) ?? []) as unknown as string[]), entity)
      // Own transaction: one snapshot, every key has its row. In a READ COMMITTED caller transaction
      // a row deleted since the cursor opened is gone: like keyset, it is not yielded.
      const items = keys.map((key) => byKey.get(Utils.getPrimaryKeyHash(key as string[]))).filter((e): e is object => e !== undefined)
      return { items, done: exhausted && keys.length < size }
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
async function keyQuery(spec: QuerySpec, orderBy: readonly OrderEntry[]): Promise<{ sql: string; params: readonly unknown[] }> {
  const em = chunkEntityManager(contextEntityManager(spec.em)) as EntityManager & { createQueryBuilder(entityName: unknown): QueryBuilderLike }
  const { meta } = spec
  // em.find also takes a bare primary key value as its condition
  const where = spec.where === undefined ? {} : Utils.isPrimaryKey(spec.where, meta.compositePK) ? { [Utils.getPrimaryKeyHash(meta.primaryKeys)]: spec.where } : spec.where
  const qb = em.createQueryBuilder(spec.entityName).select([...meta.primaryKeys]).where(where as object).orderBy([...orderBy])
  const { schema, filters, indexHint } = spec.findOptions as { schema?: string; filters?: unknown; indexHint?: string }
  if (schema !== undefined) qb.withSchema(schema)
  if (indexHint !== undefined) qb.indexHint(indexHint)
  await qb.applyFilters(filters)
  return qb.toQuery()
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
