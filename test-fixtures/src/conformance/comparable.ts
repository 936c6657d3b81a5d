/**
 * Plain values for comparing entities loaded by two different paths (a reference query and
 * `aiterator`): what an ORM hydrated, with the types `toEqual` compares poorly made explicit.
 */

/**
 * `value` as plain data: a `Date` becomes its ISO text (or `'Invalid Date'`), bytes their hex, a bigint
 * `'<digits>n'`, objects (whatever their class: parsed JSON, intervals, points) their own enumerable
 * properties with sorted keys, arrays element by element. `-0` stays `-0`.
 *
 * @example
 * ```ts
 * comparable({ at: new Date(0), bytes: Buffer.from([1]), n: 5n }) // { at: '1970-01-01T00:00:00.000Z', bytes: 'hex:01', n: '5n' }
 * ```
 */
export function comparable(value: unknown): unknown {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString()
  if (value instanceof Uint8Array)
    return `hex:${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`
  if (typeof value === 'bigint') return `${value}n`
  if (Array.isArray(value)) return value.map(comparable)
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, comparable((value as Record<string, unknown>)[key])]),
    )
  }
  return value
}
