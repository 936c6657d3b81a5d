/**
 * Shows a received option value in an error message without throwing on odd values.
 *
 * @example
 * ```ts
 * describeValue('x')  // '"x"'
 * describeValue(10n)  // '10n'
 * describeValue({ a: 1 }) // '{"a":1}'
 * ```
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'bigint') return `${value}n`
  if (typeof value === 'symbol' || typeof value === 'function') return typeof value
  if (value === null || typeof value !== 'object') return String(value)
  try {
    return JSON.stringify(value) ?? Object.prototype.toString.call(value)
  } catch {
    return Object.prototype.toString.call(value)
  }
}

/**
 * Throws a TypeError (not a number) or RangeError (not a positive safe integer) that names the
 * option, the value received and what is accepted.
 *
 * @example
 * ```ts
 * import { assertPositiveInteger } from '@batchyield/batch-core'
 *
 * assertPositiveInteger('fetchSize', 100) // ok
 * assertPositiveInteger('fetchSize', 0)   // RangeError: fetchSize must be a positive integer (1 to 9007199254740991); received 0
 * ```
 */
export function assertPositiveInteger(option: string, value: unknown, alternative?: string): asserts value is number {
  const accepted = `a positive integer (1 to ${Number.MAX_SAFE_INTEGER})${alternative === undefined ? '' : `, ${alternative}`}`
  if (typeof value !== 'number') {
    throw new TypeError(`${option} must be ${accepted}; received ${describeValue(value)} (${typeof value})`)
  }
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${option} must be ${accepted}; received ${describeValue(value)}`)
  }
}

/**
 * Like assertPositiveInteger, but 0 is accepted too.
 *
 * @example
 * ```ts
 * import { assertNonNegativeInteger } from '@batchyield/batch-core'
 *
 * assertNonNegativeInteger('prefetch', 0)  // ok
 * assertNonNegativeInteger('prefetch', -1) // RangeError: prefetch must be an integer from 0 to 9007199254740991; received -1
 * ```
 */
export function assertNonNegativeInteger(option: string, value: unknown): asserts value is number {
  if (typeof value !== 'number') {
    throw new TypeError(
      `${option} must be an integer from 0 to ${Number.MAX_SAFE_INTEGER}; received ${describeValue(value)} (${typeof value})`,
    )
  }
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(
      `${option} must be an integer from 0 to ${Number.MAX_SAFE_INTEGER}; received ${describeValue(value)}`,
    )
  }
}

/**
 * Throws a RangeError (TypeError for a non-string) unless `value` is one of `accepted`.
 *
 * @example
 * ```ts
 * import { assertOneOf } from '@batchyield/batch-core'
 *
 * assertOneOf('strategy', 'keyset', ['auto', 'keyset', 'cursor']) // ok
 * assertOneOf('strategy', 'fast', ['auto', 'keyset', 'cursor'])   // RangeError: strategy must be one of 'auto', 'keyset', 'cursor'; received "fast"
 * ```
 */
export function assertOneOf<const A extends readonly string[]>(
  option: string,
  value: unknown,
  accepted: A,
): asserts value is A[number] {
  const list = accepted.map((a) => `'${a}'`).join(', ')
  if (typeof value !== 'string') {
    throw new TypeError(`${option} must be one of ${list}; received ${describeValue(value)} (${typeof value})`)
  }
  if (!accepted.includes(value)) {
    throw new RangeError(`${option} must be one of ${list}; received ${describeValue(value)}`)
  }
}

/**
 * Throws a TypeError unless `value` is a boolean.
 *
 * @example
 * ```ts
 * import { assertBoolean } from '@batchyield/batch-core'
 *
 * assertBoolean('strict', 'yes') // TypeError: strict must be true or false; received "yes" (string)
 * ```
 */
export function assertBoolean(option: string, value: unknown): asserts value is boolean {
  if (typeof value !== 'boolean') {
    throw new TypeError(`${option} must be true or false; received ${describeValue(value)} (${typeof value})`)
  }
}

/**
 * Throws a TypeError unless `value` is a function.
 *
 * @example
 * ```ts
 * import { assertFunction } from '@batchyield/batch-core'
 *
 * assertFunction('onProgress', console.log) // ok
 * ```
 */
export function assertFunction(option: string, value: unknown): asserts value is (...args: never[]) => unknown {
  if (typeof value !== 'function') {
    throw new TypeError(`${option} must be a function; received ${describeValue(value)} (${typeof value})`)
  }
}

/**
 * Throws a TypeError unless `value` looks like an AbortSignal (duck-typed, so signals from other realms pass).
 *
 * @example
 * ```ts
 * import { assertAbortSignal } from '@batchyield/batch-core'
 *
 * assertAbortSignal('signal', AbortSignal.timeout(1000)) // ok
 * assertAbortSignal('signal', 1000) // TypeError: signal must be an AbortSignal (...); received 1000 (number)
 * ```
 */
export function assertAbortSignal(option: string, value: unknown): asserts value is AbortSignal {
  const candidate = value as Partial<AbortSignal> | null
  if (
    typeof candidate !== 'object' ||
    candidate === null ||
    typeof candidate.aborted !== 'boolean' ||
    typeof candidate.addEventListener !== 'function' ||
    typeof candidate.removeEventListener !== 'function'
  ) {
    throw new TypeError(
      `${option} must be an AbortSignal (e.g. AbortSignal.timeout(ms) or controller.signal); received ${describeValue(value)} (${typeof value})`,
    )
  }
}

/**
 * Throws a TypeError unless `value` is a plain options object (or undefined, which callers default to `{}`).
 *
 * @example
 * ```ts
 * import { assertOptionsObject } from '@batchyield/batch-core'
 *
 * assertOptionsObject('options', 500) // TypeError: options must be an object; received 500 (number)
 * ```
 */
export function assertOptionsObject(option: string, value: unknown): asserts value is object {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(
      `${option} must be an object; received ${describeValue(value)} (${value === null ? 'null' : typeof value})`,
    )
  }
}
