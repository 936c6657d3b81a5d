/**
 * Runs an `aiterator` loop that cannot run away: it stops (with `break`, so the iterator cleans up)
 * as soon as more entities came than the reference query has, and keeps whatever it threw. A keyset
 * bug that reads the same rows forever becomes a failing assertion with a diagnosis, not a hung test.
 */

/** What one bounded run produced. */
export interface BoundedRun<Entity> {
  /** The batches, as yielded. */
  readonly batches: readonly (readonly Entity[])[]
  /** True when the run was stopped for yielding more than the bound. */
  readonly overran: boolean
  /** What the call or the loop threw, if anything (undefined when it ended normally or was stopped). */
  readonly error: unknown
  /** Whether it threw at all (an error may be any value). */
  readonly threw: boolean
}

/**
 * Calls `start()` (which may throw at the call) and drains it, stopping once more than `bound`
 * entities have been yielded.
 */
export async function boundedRun<Entity>(
  start: () => AsyncIterable<readonly Entity[]>,
  bound: number,
): Promise<BoundedRun<Entity>> {
  const batches: (readonly Entity[])[] = []
  let count = 0
  try {
    for await (const batch of start()) {
      batches.push(batch)
      count += batch.length
      if (count > bound) return { batches, overran: true, error: undefined, threw: false }
    }
    return { batches, overran: false, error: undefined, threw: false }
  } catch (error) {
    return { batches, overran: false, error, threw: true }
  }
}

/**
 * What went wrong between the `expected` ids and the ids a run yielded, in words (empty when they are
 * equal): whether it was stopped or threw, ids seen twice, ids missing, ids that are not in the
 * reference, and the first position where the two differ.
 */
export function sequenceDiagnosis(
  expected: readonly unknown[],
  run: BoundedRun<unknown>,
  actual: readonly unknown[],
): string {
  const problems: string[] = []
  if (run.overran)
    problems.push(
      `stopped after ${actual.length} entities, more than the reference's ${expected.length} (a loop or duplicates)`,
    )
  if (run.threw) problems.push(`threw after ${actual.length} entities: ${describeError(run.error)}`)
  const seen = new Map<string, number>()
  for (const id of actual) seen.set(key(id), (seen.get(key(id)) ?? 0) + 1)
  const twice = [...seen].filter(([, n]) => n > 1).map(([id, n]) => `${id}×${n}`)
  if (twice.length > 0) problems.push(`${twice.length} ids yielded more than once: ${preview(twice)}`)
  const expectedKeys = new Set(expected.map(key))
  const missing = expected.map(key).filter((id) => !seen.has(id))
  if (missing.length > 0 && !run.overran && !run.threw)
    problems.push(`${missing.length} of ${expected.length} ids missing: ${preview(missing)}`)
  const foreign = [...seen.keys()].filter((id) => !expectedKeys.has(id))
  if (foreign.length > 0) problems.push(`ids not in the reference: ${preview(foreign)}`)
  const at = actual.findIndex((id, i) => key(id) !== key(expected[i]))
  if (at >= 0)
    problems.push(`first difference at position ${at}: expected id ${key(expected[at])}, got ${key(actual[at])}`)
  else if (actual.length !== expected.length)
    problems.push(`the reference's order as far as it went: ${actual.length} of ${expected.length} entities`)
  return problems.join('; ')
}

/** An error's class and message (or the value, for a non-error). */
export function describeError(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
  const line = text.replace(/\s+/g, ' ')
  return line.length > 600 ? `${line.slice(0, 600)}…` : line
}

const key = (id: unknown): string => (typeof id === 'string' ? id : (JSON.stringify(id) ?? 'undefined'))

const preview = (items: readonly string[]): string =>
  items.length > 8 ? `${items.slice(0, 8).join(', ')}, …` : items.join(', ')
