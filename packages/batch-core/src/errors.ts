/**
 * One error class per kind of mistake or fault. Option mistakes use the built-in TypeError and
 * RangeError (see validate.ts) so that `instanceof` works the way JavaScript users expect.
 */

/**
 * A resume token that is malformed, tampered with, or made for a different query shape.
 *
 * @example
 * ```ts
 * import { decodeResumeToken, InvalidResumeTokenError } from '@batchyield/batch-core'
 *
 * try {
 *   decodeResumeToken('not-a-token', { keys: [{ field: 'id', direction: 'asc', nulls: 'last' }], fingerprint: 'Book' })
 * } catch (error) {
 *   if (error instanceof InvalidResumeTokenError) console.log('start over:', error.message)
 * }
 * ```
 */
export class InvalidResumeTokenError extends TypeError {
  override readonly name = 'InvalidResumeTokenError'
}

/**
 * The query's ordering cannot be followed by the keyset strategy (e.g. an ORDER BY expression).
 *
 * @example
 * ```ts
 * import { KeysetOrderingError } from '@batchyield/batch-core'
 *
 * throw new KeysetOrderingError("strategy 'keyset' cannot seek on ORDER BY LOWER(name); order by columns, or use strategy 'cursor'")
 * ```
 */
export class KeysetOrderingError extends Error {
  override readonly name = 'KeysetOrderingError'
}

/**
 * The requested strategy is not available for this database or this query.
 *
 * @example
 * ```ts
 * import { StrategyUnavailableError } from '@batchyield/batch-core'
 *
 * throw new StrategyUnavailableError("strategy 'cursor' needs PostgreSQL; this connection is MariaDB. Use 'keyset' or 'auto'")
 * ```
 */
export class StrategyUnavailableError extends Error {
  override readonly name = 'StrategyUnavailableError'
}

/**
 * A keyset run stopped because a chunk returned a row the previous chunk had already returned:
 * the seek did not advance, so going on would repeat rows (or loop forever). It means a sort key
 * that does not read back exactly; the message names the query and the row.
 *
 * @example
 * ```ts
 * import { KeysetProgressError } from '@batchyield/batch-core'
 *
 * try {
 *   // for await (const batch of qb.aiterator(500)) …
 * } catch (error) {
 *   if (error instanceof KeysetProgressError) console.error('order by another column:', error.message)
 * }
 * ```
 */
export class KeysetProgressError extends Error {
  override readonly name = 'KeysetProgressError'
}

/**
 * A database statement of the run outlasted the `chunkTimeoutMs` option (a stalled network, a
 * black-holed connection, a server that stopped answering): it was cancelled, and the message says
 * what the run did about it.
 *
 * @example
 * ```ts
 * import { ChunkTimeoutError } from '@batchyield/batch-core'
 *
 * try {
 *   // for await (const batch of qb.aiterator({ batchYieldSize: 500, chunkTimeoutMs: 30_000 })) …
 * } catch (error) {
 *   if (error instanceof ChunkTimeoutError) console.error('the database did not answer in time:', error.message)
 * }
 * ```
 */
export class ChunkTimeoutError extends Error {
  override readonly name = 'ChunkTimeoutError'
}

/**
 * A partition descriptor (from an adapter's `partitions()`) that cannot be used here: made for
 * another query (entity, ordering or conditions), by another format version, or altered.
 *
 * @example
 * ```ts
 * import { InvalidPartitionError } from '@batchyield/batch-core'
 *
 * try {
 *   // for await (const batch of qb.aiterator({ batchYieldSize: 500, partition: JSON.parse(job.data) })) …
 * } catch (error) {
 *   if (error instanceof InvalidPartitionError) console.error('this job belongs to another query:', error.message)
 * }
 * ```
 */
export class InvalidPartitionError extends TypeError {
  override readonly name = 'InvalidPartitionError'
}
