import { ChunkTimeoutError, waitFor } from '@batchyield/batch-core'
import type { EntityManager } from '@mikro-orm/core'
import type { ExactRead, ExactSortValues } from './exact-sort-values.js'
import { kyselyOf, transactionSessionContext } from './internals.js'
import { takesExecuteOptions } from './sql-package.js'
import { pgCallbackContext, type QueryContext } from './pg-callback-context.js'

/**
 * Where a keyset run's chunk statements run and how long each may take, for both keyset sources
 * (em.aiterator's and qb.aiterator's).
 *
 * Outside a transaction they run on a client of MikroORM's own pg pool where that changes nothing
 * else ({@link pgCallbackContext}), so that an abort (the run's signal, an early exit, or
 * `chunkTimeoutMs`) cancels the one in flight on the server. Before MikroORM 7.2 (no such pool, and no
 * signal that em.find checks before sending) they run on MikroORM's own Kysely through a context that
 * sends nothing once the run has aborted; elsewhere they run as MikroORM runs them.
 */
export interface ChunkStatements {
  /**
   * The context `fork`'s statements run on, for a chunk read under `signal` (the run's): undefined inside
   * a transaction or under a session context (MikroORM's own then).
   */
  context(fork: EntityManager, signal: AbortSignal | undefined): Promise<QueryContext | undefined>
  /** Runs `work` with `fork`'s em.find and em.execute statements on {@link context}; the fork is handed over without it. */
  on<T>(fork: EntityManager, signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T>
  /** The signal one statement runs under: the run's, bounded by `chunkTimeoutMs` (see {@link boundedSignal}). */
  bounded(signal: AbortSignal | undefined): BoundedSignal
  /** `reader.read(…)` of a chunk's entities in `fork` (see exactSortValues) as a chunk statement: on {@link context}, bounded, nothing sent after an abort. */
  readExact(
    reader: ExactSortValues,
    fork: EntityManager,
    items: readonly object[],
    positions: readonly number[],
    values: readonly (readonly unknown[])[],
    signal: AbortSignal,
  ): Promise<ExactRead>
}

/** The chunk statements of a keyset run over `base` (the caller's EntityManager as resolved at the start). */
export function chunkStatements(base: EntityManager, chunkTimeoutMs: number | undefined): ChunkStatements {
  let shared: Promise<QueryContext | undefined> | undefined
  let unguarded: QueryContext | null | undefined
  const context = async (fork: EntityManager, signal: AbortSignal | undefined): Promise<QueryContext | undefined> => {
    if (fork.getTransactionContext() !== undefined || transactionSessionContext(fork) !== undefined) return undefined
    const pg = await (shared ??= pgCallbackContext(base, { destroyAfterMs: chunkTimeoutMs }))
    if (pg !== undefined || signal === undefined) return pg
    unguarded ??= sendsAfterAbort(base) ?? null
    return unguarded === null ? undefined : guarded(unguarded, signal)
  }
  const on = async <T>(fork: EntityManager, signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> => {
    const ctx = await context(fork, signal)
    if (ctx === undefined) return work()
    fork.setTransactionContext(ctx as never)
    try {
      return await work()
    } finally {
      fork.resetTransactionContext()
    }
  }
  return {
    context,
    on,
    bounded: (signal) => boundedSignal(signal, chunkTimeoutMs),
    readExact: (reader, fork, items, positions, values, signal) =>
      on(fork, signal, () => {
        signal.throwIfAborted() // after an abort nothing new is sent
        const statement = boundedSignal(signal, chunkTimeoutMs)
        return statement.run(() => reader.read(fork, items, positions, values, statement.signal))
      }),
  }
}

/**
 * MikroORM's own Kysely where MikroORM may still send a chunk's query after the run's abort (before 7.2
 * em.find and em.execute take no signal, or do not check it before sending); undefined where it
 * checks (7.2), with read replicas (a context would send reads to the primary), or on MikroORM 6
 * (Knex: nothing to guard with).
 */
function sendsAfterAbort(em: EntityManager): QueryContext | undefined {
  if (takesExecuteOptions()) return undefined
  if (((em.config.get('replicas' as never) as unknown[] | undefined) ?? []).length > 0) return undefined
  try {
    const kysely = kyselyOf<Partial<QueryContext>>(em, 'write')
    return typeof kysely.executeQuery === 'function' ? (kysely as QueryContext) : undefined
  } catch {
    return undefined
  }
}

/** `inner`, sending nothing once `signal` has aborted: the run is over. */
function guarded(inner: QueryContext, signal: AbortSignal): QueryContext {
  return {
    executeQuery(compiled, abort) {
      signal.throwIfAborted()
      return inner.executeQuery(compiled, abort)
    },
  }
}

/** {@link boundedSignal}'s result. */
export interface BoundedSignal {
  readonly signal: AbortSignal | undefined
  run<T>(send: () => Promise<T>): Promise<T>
}

/**
 * The signal one keyset statement runs under: the run's, plus `chunkTimeoutMs` (the adapter's pg
 * context and MikroORM 7.1+ end a query whose signal aborts). `run()` stops waiting when it aborts
 * (MikroORM before 7.1 takes no signal: its statement then runs on to its end) and turns a failure
 * the timeout caused into a `ChunkTimeoutError`, which the keyset sources call retryable: the chunk
 * is read again.
 */
export function boundedSignal(signal: AbortSignal | undefined, timeoutMs: number | undefined): BoundedSignal {
  if (timeoutMs === undefined) return { signal, run: (send) => send() }
  const timeout = AbortSignal.timeout(timeoutMs)
  const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout])
  return {
    signal: combined,
    async run(send) {
      try {
        return await waitFor(send(), combined)
      } catch (error) {
        if (!timeout.aborted || signal?.aborted === true) throw error
        throw new ChunkTimeoutError(
          `The keyset chunk's query did not finish within chunkTimeoutMs (${timeoutMs} ms) and was cancelled; the keyset strategy reads the chunk again (retries), as nothing is held between chunks`,
          { cause: error },
        )
      }
    },
  }
}
