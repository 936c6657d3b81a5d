import { KeysetProgressError } from './errors.js'

/**
 * The keyset strategy's last line of defence: a chunk must start strictly after the previous one.
 * Each chunk's rows are told to `check()` by identity (their primary key values); a row the
 * previous chunk already returned means the seek did not advance, which a lossy or differently
 * ordered key would cause (the same rows forever, or rows yielded twice). The run then throws a
 * {@link KeysetProgressError} instead of looping or duplicating.
 *
 * Rows come back in the query's total order, so a seek that falls short lands inside the previous
 * chunk: comparing with that one chunk is enough, and costs one set of identities per chunk.
 *
 * @example
 * ```ts
 * import { KeysetProgress } from '@batchyield/batch-core'
 *
 * const progress = new KeysetProgress('Book ordered by price, id')
 * progress.check([1, 2, 3])
 * progress.check([4, 5])
 * progress.check([5, 6]) // throws KeysetProgressError: row 5 came back
 * ```
 */
export class KeysetProgress {
  #previous = new Set<unknown>()
  #chunks = 0
  readonly #query: string

  /** `query` names the entity and ordering in the error message. */
  constructor(query: string) {
    this.#query = query
  }

  /** Checks one chunk's row identities (in order) against the previous chunk's, then remembers them. */
  check(identities: readonly unknown[]): void {
    const previous = this.#previous
    const next = new Set<unknown>()
    for (const raw of identities) {
      const identity = identityOf(raw)
      if (previous.has(identity)) {
        throw new KeysetProgressError(
          `The keyset strategy did not advance on ${this.#query}: chunk ${this.#chunks + 1} returned the row ${describeIdentity(raw)} that chunk ${this.#chunks} already returned. ` +
            'A sort key whose value does not read back exactly (or that the database compares differently from how it sorts) would repeat rows forever, so the run stops here. ' +
            "Order by other columns, or use strategy 'cursor' (PostgreSQL); please report the column type",
        )
      }
      next.add(identity)
    }
    this.#previous = next
    this.#chunks++
  }
}

/** A Set key for a primary key value (or an array of them): primitives as they are, the rest as text. */
function identityOf(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value
  if (value instanceof Uint8Array) return `bytes:${Array.from(value, (b) => b.toString(16).padStart(2, '0')).join('')}`
  if (value instanceof Date) return `date:${value.getTime()}`
  if (Array.isArray(value)) return `[${value.map((v) => String(identityOf(v))).join('\u0000')}]`
  return `object:${JSON.stringify(value)}`
}

function describeIdentity(value: unknown): string {
  const identity = identityOf(value)
  return typeof identity === 'string' ? JSON.stringify(identity) : String(identity)
}
