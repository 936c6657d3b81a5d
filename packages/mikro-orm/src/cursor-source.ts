import type { ChunkSource } from '@batchyield/batch-core'
import type { EntityManager } from '@mikro-orm/core'
import { chunkEntityManager, contextEntityManager } from './chunk-entity-manager.js'
import type { OrderEntry } from './keyset-ordering.js'
import type { QuerySpec } from './query-spec.js'

/**
 * Cursor strategy (PostgreSQL): one `em.stream` for the whole run, i.e. a server-side cursor
 * that fetches `chunkSize` rows per round trip, regrouped here into chunks. The ordering ends
 * with the primary key so the rows of one entity's to-many relations arrive together and
 * `em.stream` merges them completely. Each chunk's entities are merged into a fresh fork, so they
 * are managed (and can be changed and flushed) exactly like keyset chunks.
 *
 * Holds one connection from the first chunk until `close()`; inside a transaction it reads on the
 * transaction's connection, which then cannot run other queries until the loop ends.
 */
export function openCursorSource(spec: QuerySpec, orderBy: readonly OrderEntry[]): ChunkSource<object> {
  const base = contextEntityManager(spec.em)
  let rows: AsyncIterator<object> | undefined

  const start = (signal: AbortSignal): AsyncIterator<object> => {
    const { strategy: _joinedAlways, ...options } = spec.findOptions
    const stream = chunkEntityManager(base).stream(spec.entityName, {
      ...options,
      where: spec.where ?? {},
      orderBy: [...orderBy],
      chunkSize: spec.chunkSize,
      limit: spec.limit,
      offset: spec.offset,
      signal,
    } as object)
    return stream[Symbol.asyncIterator]()
  }

  return {
    async next(size, signal) {
      rows ??= start(signal)
      const fork: EntityManager = chunkEntityManager(base)
      const items: object[] = []
      while (items.length < size) {
        const row = await rows.next()
        if (row.done) return { items, done: true }
        // em.stream yields detached entities; register each in this chunk's fork.
        items.push(fork.merge(row.value))
      }
      return { items, done: false }
    },
    async close() {
      await rows?.return?.()
    },
  }
}
