import { describeValue } from '@batchyield/batch-core'
import { type EntityManager, helper, Utils } from '@mikro-orm/core'

/**
 * The EntityManager that manages an entity yielded by `aiterator`: the fork its chunk was loaded
 * into (MikroORM's own `wrap(entity, true).__em`). Use it to persist new entities alongside a
 * batch or to flush it; prefer {@link flushBatch} to flush a whole batch.
 *
 * @example
 * ```ts
 * for await (const books of em.aiterator(Book, { batchYieldSize: 100 })) {
 *   const batchEm = entityManagerOf(books[0]!)
 *   batchEm.create(AuditEntry, { books: books.length })
 *   await flushBatch(books)
 * }
 * ```
 */
export function entityManagerOf(entity: object): EntityManager {
  const em = Utils.isEntity(entity) ? helper(entity).__em : undefined
  if (em === undefined) {
    throw new TypeError(
      `entityManagerOf(): expected an entity yielded by aiterator (managed by an EntityManager); received ${describeValue(entity)}`,
    )
  }
  return em
}

/**
 * Flushes the changes made to the entities of a yielded batch (or any list of managed
 * entities), through the EntityManager(s) that loaded them, in order. A batch usually lives in
 * one chunk's EntityManager, but spans two when `batchYieldSize` does not divide `chunkSize`;
 * this flushes each once. The caller's own EntityManager is not touched and does not grow.
 *
 * Flushing an EntityManager persists every change it manages, including entities of the same
 * chunk that belong to the next batch.
 *
 * @example
 * ```ts
 * // Backfill: load 500, change a field, flush, next 500.
 * for await (const books of em.aiterator(Book, { where: { rating: 0 }, batchYieldSize: 500 })) {
 *   for (const book of books) book.rating = 3
 *   await flushBatch(books)
 * }
 * ```
 */
export async function flushBatch(entities: Iterable<object>): Promise<void> {
  if (
    entities === null ||
    typeof entities !== 'object' ||
    typeof (entities as Iterable<object>)[Symbol.iterator] !== 'function'
  ) {
    throw new TypeError(
      `flushBatch(): expected the list of entities a batch yielded; received ${describeValue(entities)}`,
    )
  }
  const managers = new Set<EntityManager>()
  for (const entity of entities) managers.add(entityManagerOf(entity))
  for (const em of managers) await em.flush()
}
