import type { EntityManager } from '@mikro-orm/core'

/**
 * The EntityManager a chunk is loaded into: a fresh fork with an empty identity map, so the
 * caller's EntityManager never grows. Inside a transaction the fork keeps the transaction
 * context, so chunk queries (and flushes of the chunk's entities) run in that transaction.
 * `base` is the caller's EntityManager as resolved when iteration started (request or
 * transaction context included).
 */
export function chunkEntityManager(base: EntityManager): EntityManager {
  return base.fork({ clear: true, keepTransactionContext: true, disableContextResolution: true })
}

/** Resolves the EntityManager the caller means right now (inside `em.transactional`, the transaction's fork). */
export function contextEntityManager(em: EntityManager): EntityManager {
  return em.getContext(false)
}
