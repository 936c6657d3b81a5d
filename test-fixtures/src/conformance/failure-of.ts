/**
 * What `run` rejects with, or undefined when it resolves: a fault test awaits a run it expects to fail and
 * then asserts on the error.
 */
export function failureOf(run: Promise<unknown>): Promise<unknown> {
  return run.then(
    () => undefined,
    (error: unknown) => error,
  )
}
