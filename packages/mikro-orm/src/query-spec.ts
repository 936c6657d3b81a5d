import type { EntityManager, EntityMetadata, EntityName } from '@mikro-orm/core'

/** What every chunk query shares, resolved once when `aiterator()` is called. */
export interface QuerySpec {
  readonly em: EntityManager
  readonly entityName: EntityName<object>
  readonly meta: EntityMetadata
  /**
   * The user's `where` (undefined for every row), for one statement: call it once per statement that
   * sends it (see `reusableFilter` in internals.ts).
   */
  readonly where: () => unknown
  /** `em.find` options passed through to each chunk query (populate, fields, filters, …). */
  readonly findOptions: Readonly<Record<string, unknown>>
  /** Rows to skip before the first one. */
  readonly offset: number | undefined
  /** Rows per database round trip (the engine's resolved `chunkSize`). */
  readonly chunkSize: number
  /** Total row cap, when given. */
  readonly limit: number | undefined
  /** The engine's resolved `chunkTimeoutMs`: the longest one statement of a chunk may take. */
  readonly chunkTimeoutMs?: number
  /**
   * The caller asked for read-ahead (`prefetch` >= 1): a source may send its next chunk's read
   * before creating the current chunk's entities, reading at most one chunk beyond what the
   * loop takes. With `prefetch: 0` a run reads only what the loop asks for.
   */
  readonly readAhead: boolean
  /**
   * The items whose resume token `onProgress` will ask for: every `batchYieldSize`-th of the run
   * (every item without batches), or none without `onProgress`.
   */
  readonly progressEvery: number | undefined
}

/** `{ $and: [where, seek] }` without wrapping what needs no wrapping. */
export function andWhere(...conditions: unknown[]): object {
  const present = conditions.filter((c) => c !== undefined)
  if (present.length === 0) return {}
  if (present.length === 1) return present[0] as object
  return { $and: present }
}
