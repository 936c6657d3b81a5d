import { KeysetProgressError } from './errors.js'

/**
 * The keyset strategy's last line of defence: a chunk must start strictly after the previous one.
 * Each chunk's rows are told to `check()` by identity: their sort key values as read (one value, or
 * the list of them; the primary key is the last key). A chunk whose first row the previous chunk
 * already returned, with the same key values, means the seek did not advance, which a lossy or
 * differently ordered key would cause (the same rows forever, or rows yielded twice). The run then
 * throws a {@link KeysetProgressError} instead of looping or duplicating.
 *
 * Rows come back in the query's total order, so a seek that falls short lands inside the previous
 * chunk and the new chunk starts with one of its rows: the first row is the one to compare. A row
 * another session moved ahead has other key values, so it is not taken for a repeat.
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
  #previous: readonly unknown[] = []
  #chunks = 0
  readonly #query: string

  /** `query` names the entity and ordering in the error message. */
  constructor(query: string) {
    this.#query = query
  }

  /** Checks one chunk's row identities (in order) against the previous chunk's, then keeps them (not copied). */
  check(identities: readonly unknown[]): void {
    if (identities.length > 0) {
      const first = identityOf(identities[0])
      const previous = this.#previous
      // from the end: a seek that falls short repeats the previous chunk's last rows
      for (let i = previous.length - 1; i >= 0; i--) {
        if (identityOf(previous[i]) !== first) continue
        throw new KeysetProgressError(
          `The keyset strategy did not advance on ${this.#query}: chunk ${this.#chunks + 1} returned the row ${describeIdentity(identities[0])} that chunk ${this.#chunks} already returned. ` +
            'A sort key whose value does not read back exactly (or that the database compares differently from how it sorts) would repeat rows forever, so the run stops here. ' +
            "Order by other columns, or use strategy 'cursor' (PostgreSQL); please report the column type",
        )
      }
    }
    this.#previous = identities
    this.#chunks++
  }
}

/** A comparable form of a key value (or a list of them): primitives as they are, the rest as text. */
function identityOf(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value
  if (value instanceof Uint8Array) return `bytes:${Array.from(value, (b) => b.toString(16).padStart(2, '0')).join('')}`
  if (value instanceof Date) return `date:${value.getTime()}`
  if (Array.isArray(value)) return `[${value.map((v) => String(identityOf(v))).join('\u0000')}]`
  return `object:${JSON.stringify(value)}`
}

function describeIdentity(value: unknown): string {
  if (Array.isArray(value)) return `(${value.map(describeIdentity).join(', ')})`
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'bigint') return `${value}n`
  if (value instanceof Date) return value.toISOString()
  if (value instanceof Uint8Array) return `0x${Array.from(value, (b) => b.toString(16).padStart(2, '0')).join('')}`
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value)
}
