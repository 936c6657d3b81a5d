/**
 * One error class per kind of mistake or fault. Option mistakes use the built-in TypeError and
 * RangeError (see validate.ts) so that `instanceof` works the way JavaScript users expect.
 */

/** A resume token that is malformed, tampered with, or made for a different query shape. */
export class InvalidResumeTokenError extends TypeError {
  override readonly name = 'InvalidResumeTokenError'
}

/** The query's ordering cannot be followed by the keyset strategy (e.g. an ORDER BY expression). */
export class KeysetOrderingError extends Error {
  override readonly name = 'KeysetOrderingError'
}

/** The requested strategy is not available for this database or this query. */
export class StrategyUnavailableError extends Error {
  override readonly name = 'StrategyUnavailableError'
}
