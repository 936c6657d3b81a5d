/** Returned by {@link waitFor} when `timeoutMs` passed before `promise` settled. */
export const TIMED_OUT: unique symbol = Symbol('timed out')

/**
 * Settles like `promise`, unless `signal` aborts first (rejects with `signal.reason`) or
 * `timeoutMs` passes first (resolves {@link TIMED_OUT}). `promise` keeps running either way; a
 * handler is always attached to it, so its later rejection is never reported as unhandled.
 * The abort listener and the timer are removed as soon as one side wins.
 */
export function waitFor<V>(promise: PromiseLike<V>, signal: AbortSignal | undefined): Promise<V>
export function waitFor<V>(
  promise: PromiseLike<V>,
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
): Promise<V | typeof TIMED_OUT>
export function waitFor<V>(
  promise: PromiseLike<V>,
  signal: AbortSignal | undefined,
  timeoutMs?: number,
): Promise<V | typeof TIMED_OUT> {
  // Nothing to race: the caller awaits `promise` itself (and so handles its rejection).
  if (signal === undefined && timeoutMs === undefined) return Promise.resolve(promise)
  return new Promise<V | typeof TIMED_OUT>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined
    const onAbort = (): void => settle(() => reject(signal?.reason))
    const settle = (finish: () => void): void => {
      if (timer !== undefined) clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      finish()
    }
    promise.then(
      (value) => settle(() => resolve(value)),
      (error: unknown) => settle(() => reject(error)),
    )
    if (signal?.aborted) return onAbort()
    signal?.addEventListener('abort', onAbort, { once: true })
    if (timeoutMs !== undefined) timer = setTimeout(() => settle(() => resolve(TIMED_OUT)), timeoutMs)
  })
}
