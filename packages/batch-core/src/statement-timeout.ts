import { ChunkTimeoutError } from './errors.js'

/** What {@link boundStatement} needs besides the statement. */
export interface StatementBound {
  /** The longest the statement may take (the `chunkTimeoutMs` option); undefined: unbounded. */
  readonly timeoutMs: number | undefined
  /** Asks the server to cancel the statement (PostgreSQL cancel request, MariaDB `KILL QUERY`). */
  cancel(): unknown
  /** Closes the statement's connection, when the cancel did not end it within another `timeoutMs` (a black hole). */
  destroy(): unknown
  /** Names the statement in the error, e.g. `"the keyset chunk's SELECT"`. */
  readonly what: string
}

/**
 * Waits for a keyset statement, bounded by `timeoutMs`: on expiry it is cancelled on the server, and
 * if it still has not ended after as long again, its connection is closed, so a black-holed
 * connection cannot hang the run. A statement that ended because of the timeout rejects with a
 * {@link ChunkTimeoutError} (its own error as the cause), which the keyset sources call retryable:
 * the engine reads the chunk again on a fresh connection. Without `timeoutMs` it is `statement`.
 *
 * @example
 * ```ts
 * import { boundStatement } from '@batchyield/batch-core'
 *
 * const rows = await boundStatement(client.query(sql, params), {
 *   timeoutMs: 30_000,
 *   cancel: () => cancelNodePostgresStatement(client),
 *   destroy: () => client.release(true),
 *   what: "the keyset chunk's SELECT",
 * })
 * ```
 */
export async function boundStatement<T>(statement: Promise<T>, bound: StatementBound): Promise<T> {
  const { timeoutMs } = bound
  if (timeoutMs === undefined) return statement
  let timedOut = false
  let destroyTimer: ReturnType<typeof setTimeout> | undefined
  const timer = setTimeout(() => {
    timedOut = true
    void Promise.resolve()
      .then(() => bound.cancel())
      .catch(() => {})
    destroyTimer = setTimeout(() => {
      try {
        bound.destroy()
      } catch {
        // nothing more to do: the driver's own error ends the statement
      }
    }, timeoutMs)
  }, timeoutMs)
  try {
    return await statement
  } catch (error) {
    if (!timedOut) throw error
    throw new ChunkTimeoutError(
      `${bound.what} did not finish within chunkTimeoutMs (${timeoutMs} ms) and was cancelled; the keyset strategy reads the chunk again (retries), as nothing is held between chunks`,
      { cause: error },
    )
  } finally {
    clearTimeout(timer)
    clearTimeout(destroyTimer)
  }
}
