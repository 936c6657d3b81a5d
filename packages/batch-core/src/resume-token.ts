import { decodeBase64url, encodeBase64url } from './base64url.js'
import { crc32 } from './crc32.js'
import { InvalidResumeTokenError } from './errors.js'
import type { KeyShape } from './keyset-types.js'
import { assertSortKeys } from './seek-predicate.js'
import { describeValue } from './validate.js'

// Token bytes: [version][crc32 of the shape: 4][one tagged value per key…][crc32 of all before: 4],
// then base64url without padding. The shape is stored as a hash: the token only has to say
// "same shape or not", and stays short (13 characters of overhead).
const VERSION = 1
const HEADER = 5
const TRAILER = 4
/** Date time values are integers within ±8.64e15 ms (ECMA-262 TimeClip). */
const MAX_TIME = 8.64e15

/** The type byte before each value. Never renumber: tokens in the wild use these. */
const Tag = {
  Null: 0,
  False: 1,
  True: 2,
  SafeInteger: 3,
  Float64: 4,
  BigIntPositive: 5,
  BigIntNegative: 6,
  StringUtf8: 7,
  StringUtf16: 8,
  Date: 9,
  Bytes: 10,
} as const

const RESTART = 'start without `after` (or with a token that this same query reported as `cursor`)'

/**
 * An opaque, URL-safe (base64url, no padding) token that positions a later run of the same query
 * right after the row whose key values are `values`. It carries the values with their types and
 * a hash of `shape` (fields, directions, NULL placement and fingerprint; not `nullable`), plus a
 * format version and a checksum.
 *
 * Value types that round-trip exactly: `null`, booleans, numbers (including `-0`, `NaN` and
 * `±Infinity`), bigints of any size, strings (any UTF-16, including lone surrogates), valid
 * `Date`s (millisecond precision, as JavaScript has), and `Uint8Array`/`Buffer`. Anything else
 * (undefined, objects, invalid Dates) throws a TypeError/RangeError naming the key.
 *
 * Tokens are checksummed, not signed: they detect damage and misuse, not deliberate forgery. A
 * forged token can only hold key values of the types above, which adapters bind as parameters;
 * do not treat a token as proof of anything.
 *
 * @example
 * ```ts
 * import { decodeResumeToken, encodeResumeToken } from '@batchyield/batch-core'
 *
 * const shape = { keys: [{ field: 'id', direction: 'asc', nulls: 'last', nullable: false }], fingerprint: 'Book' } as const
 * const token = encodeResumeToken(shape, [41])
 * console.log(token, decodeResumeToken(token, shape)) // e.g. "AQ…" [ 41 ]
 * ```
 */
export function encodeResumeToken(shape: KeyShape, values: readonly unknown[]): string {
  assertKeyShape(shape)
  if (!Array.isArray(values)) {
    throw new TypeError(`values must be an array with one value per sort key; received ${describeValue(values)}`)
  }
  if (values.length !== shape.keys.length) {
    throw new RangeError(
      `values must have one value per sort key (${shape.keys.length}); received ${values.length} values`,
    )
  }
  const out = new ByteWriter()
  out.byte(VERSION)
  out.uint32(shapeHash(shape))
  values.forEach((value, i) => writeValue(out, value, `values[${i}] (sort key ${describeValue(shape.keys[i]!.field)})`))
  const body = out.bytes()
  out.uint32(crc32(body))
  return encodeBase64url(out.bytes())
}

/**
 * The key values a token from {@link encodeResumeToken} carries, with their types. Throws
 * {@link InvalidResumeTokenError} for any string that is not an intact token made for `shape`
 * (a different query, ordering or entity; a truncated, altered or random string), and a
 * TypeError when `token` is not a string. Byte values come back as `Buffer` where
 * `globalThis.Buffer` exists (Node, Bun; database drivers there expect it) and as `Uint8Array`
 * elsewhere.
 *
 * @example
 * ```ts
 * import { decodeResumeToken, encodeResumeToken, InvalidResumeTokenError } from '@batchyield/batch-core'
 *
 * const books = { keys: [{ field: 'id', direction: 'asc', nulls: 'last' }], fingerprint: 'Book' } as const
 * const authors = { ...books, fingerprint: 'Author' }
 * const token = encodeResumeToken(books, [41])
 * try {
 *   decodeResumeToken(token, authors)
 * } catch (error) {
 *   console.log(error instanceof InvalidResumeTokenError, (error as Error).message)
 * }
 * ```
 */
export function decodeResumeToken(token: string, shape: KeyShape): unknown[] {
  if (typeof token !== 'string') {
    throw new TypeError(
      `resume token must be a string (the \`cursor\` reported by onProgress, passed back as \`after\`); received ${describeValue(token)} (${typeof token})`,
    )
  }
  assertKeyShape(shape)
  if (token === '') throw invalid(`the resume token is empty; ${RESTART}`)
  const bytes = decodeBase64url(token)
  if (bytes === undefined) {
    throw invalid(
      `the resume token is not base64url text (it has characters outside A-Z a-z 0-9 - _, or was cut); pass the token exactly as it was reported, or ${RESTART}`,
    )
  }
  if (bytes.length < HEADER + TRAILER) throw damaged()
  if (bytes[0] !== VERSION) {
    throw invalid(
      `the resume token has format version ${bytes[0]}, but this version of @batchyield/batch-core reads version ${VERSION}; it was made by another version or altered; ${RESTART}`,
    )
  }
  const body = bytes.subarray(0, bytes.length - TRAILER)
  if (readUint32(bytes, body.length) !== crc32(body)) throw damaged()
  if (readUint32(bytes, 1) !== shapeHash(shape)) {
    throw invalid(`this resume token was made for a different query (ordering, sort keys or entity); ${RESTART}`)
  }
  try {
    const reader = new ByteReader(body, HEADER)
    const values = shape.keys.map(() => readValue(reader))
    if (!reader.atEnd()) throw new RangeError('trailing bytes')
    return values
  } catch (error) {
    // The checksum matched, so this token was built by hand; report it like any other bad token.
    throw invalid(
      `the resume token's values cannot be read (${error instanceof Error ? error.message : String(error)}); ${RESTART}`,
      error,
    )
  }
}

function invalid(message: string, cause?: unknown): InvalidResumeTokenError {
  return new InvalidResumeTokenError(message, cause === undefined ? undefined : { cause })
}

function damaged(): InvalidResumeTokenError {
  return invalid(
    `the resume token is damaged (checksum mismatch: truncated or altered); pass it exactly as it was reported, or ${RESTART}`,
  )
}

function assertKeyShape(shape: unknown): asserts shape is KeyShape {
  if (shape === null || typeof shape !== 'object') {
    throw new TypeError(`shape must be { keys, fingerprint }; received ${describeValue(shape)}`)
  }
  const { keys, fingerprint } = shape as Record<string, unknown>
  assertSortKeys('shape.keys', keys)
  if (typeof fingerprint !== 'string') {
    throw new TypeError(
      `shape.fingerprint must be a string (e.g. the entity name); received ${describeValue(fingerprint)}`,
    )
  }
}

function shapeHash(shape: KeyShape): number {
  const canonical = JSON.stringify([shape.fingerprint, shape.keys.map((k) => [k.field, k.direction, k.nulls])])
  return crc32(utf8Encoder().encode(canonical))
}

function writeValue(out: ByteWriter, value: unknown, at: string): void {
  if (value === null) return out.byte(Tag.Null)
  switch (typeof value) {
    case 'boolean':
      return out.byte(value ? Tag.True : Tag.False)
    case 'number':
      if (Number.isSafeInteger(value) && !Object.is(value, -0)) {
        out.byte(Tag.SafeInteger)
        return out.varint(zigzag(BigInt(value)))
      }
      out.byte(Tag.Float64)
      return out.float64(value)
    case 'bigint': {
      out.byte(value < 0n ? Tag.BigIntNegative : Tag.BigIntPositive)
      return out.sized(magnitudeBytes(value < 0n ? -value : value))
    }
    case 'string':
      if (isWellFormed(value)) {
        out.byte(Tag.StringUtf8)
        return out.sized(utf8Encoder().encode(value))
      }
      out.byte(Tag.StringUtf16)
      return out.sized(utf16Bytes(value))
  }
  if (value instanceof Date) {
    const time = value.getTime()
    if (Number.isNaN(time)) throw new RangeError(`${at} is an invalid Date; a resume token cannot point after it`)
    out.byte(Tag.Date)
    return out.varint(zigzag(BigInt(time)))
  }
  if (value instanceof Uint8Array) {
    out.byte(Tag.Bytes)
    return out.sized(value)
  }
  throw new TypeError(
    `${at} cannot be stored in a resume token: ${describeValue(value)} (${typeName(value)}); supported are null, boolean, number, bigint, string, Date and Uint8Array/Buffer`,
  )
}

function readValue(reader: ByteReader): unknown {
  const tag = reader.byte()
  switch (tag) {
    case Tag.Null:
      return null
    case Tag.False:
      return false
    case Tag.True:
      return true
    case Tag.SafeInteger: {
      const n = unzigzag(reader.varint())
      if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER))
        throw new RangeError('integer out of range')
      return Number(n)
    }
    case Tag.Float64:
      return reader.float64()
    case Tag.BigIntPositive:
    case Tag.BigIntNegative: {
      const magnitude = bigintFromBytes(reader.sized())
      return tag === Tag.BigIntNegative ? -magnitude : magnitude
    }
    case Tag.StringUtf8:
      return utf8Decoder().decode(reader.sized())
    case Tag.StringUtf16:
      return stringFromUtf16(reader.sized())
    case Tag.Date: {
      const time = unzigzag(reader.varint())
      if (time > BigInt(MAX_TIME) || time < BigInt(-MAX_TIME)) throw new RangeError('date out of range')
      return new Date(Number(time))
    }
    case Tag.Bytes:
      return toBytesValue(reader.sized())
    default:
      throw new RangeError(`unknown value tag ${tag}`)
  }
}

class ByteWriter {
  private readonly parts: number[] = []
  byte(b: number): void {
    this.parts.push(b & 0xff)
  }
  uint32(n: number): void {
    this.parts.push((n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff)
  }
  /** Unsigned LEB128. */
  varint(n: bigint): void {
    do {
      const low = Number(n & 0x7fn)
      n >>= 7n
      this.parts.push(n > 0n ? low | 0x80 : low)
    } while (n > 0n)
  }
  float64(x: number): void {
    const view = new DataView(new ArrayBuffer(8))
    view.setFloat64(0, Number.isNaN(x) ? Number.NaN : x)
    for (let i = 0; i < 8; i++) this.parts.push(view.getUint8(i))
  }
  /** Length-prefixed bytes. */
  sized(bytes: Uint8Array): void {
    this.varint(BigInt(bytes.length))
    for (let i = 0; i < bytes.length; i++) this.parts.push(bytes[i]!)
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts)
  }
}

class ByteReader {
  private readonly data: Uint8Array
  private offset: number
  constructor(data: Uint8Array, offset: number) {
    this.data = data
    this.offset = offset
  }
  atEnd(): boolean {
    return this.offset === this.data.length
  }
  byte(): number {
    if (this.offset >= this.data.length) throw new RangeError('value cut short')
    return this.data[this.offset++]!
  }
  /** Unsigned LEB128 of at most 8 bytes (56 bits: enough for zigzagged safe integers, times and lengths). */
  varint(): bigint {
    let n = 0n
    for (let shift = 0n; shift < 56n; shift += 7n) {
      const b = this.byte()
      n |= BigInt(b & 0x7f) << shift
      if ((b & 0x80) === 0) return n
    }
    throw new RangeError('number too long')
  }
  float64(): number {
    const bytes = this.take(8)
    return new DataView(bytes.buffer, bytes.byteOffset, 8).getFloat64(0)
  }
  sized(): Uint8Array {
    const length = this.varint()
    if (length > BigInt(this.data.length - this.offset)) throw new RangeError('length beyond the end')
    return this.take(Number(length))
  }
  private take(n: number): Uint8Array {
    if (this.offset + n > this.data.length) throw new RangeError('value cut short')
    const slice = this.data.subarray(this.offset, this.offset + n)
    this.offset += n
    return slice
  }
}

function readUint32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0
}

function zigzag(n: bigint): bigint {
  return n >= 0n ? n << 1n : (-n << 1n) - 1n
}

function unzigzag(z: bigint): bigint {
  return (z & 1n) === 0n ? z >> 1n : -((z + 1n) >> 1n)
}

function magnitudeBytes(n: bigint): Uint8Array {
  if (n === 0n) return new Uint8Array(0)
  let hex = n.toString(16)
  if (hex.length % 2 === 1) hex = `0${hex}`
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16)
  return out
}

function bigintFromBytes(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n
  let hex = '0x'
  for (let i = 0; i < bytes.length; i++) hex += bytes[i]!.toString(16).padStart(2, '0')
  return BigInt(hex)
}

/** True when `s` has no lone surrogate (so UTF-8 can carry it unchanged). */
function isWellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1)
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false
      i++
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return false
    }
  }
  return true
}

function utf16Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length * 2)
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    out[i * 2] = c >>> 8
    out[i * 2 + 1] = c & 0xff
  }
  return out
}

function stringFromUtf16(bytes: Uint8Array): string {
  if (bytes.length % 2 === 1) throw new RangeError('odd UTF-16 length')
  let s = ''
  for (let i = 0; i < bytes.length; i += 2) s += String.fromCharCode((bytes[i]! << 8) | bytes[i + 1]!)
  return s
}

/** A copy, as a Buffer where the runtime has one (drivers such as mysql2 only bind Buffers). */
function toBytesValue(bytes: Uint8Array): Uint8Array {
  const NodeBuffer = (globalThis as { Buffer?: { from(data: Uint8Array): Uint8Array } }).Buffer
  return NodeBuffer ? NodeBuffer.from(bytes) : bytes.slice()
}

function typeName(value: unknown): string {
  if (typeof value !== 'object' || value === null) return typeof value
  const name: unknown = (value as { constructor?: { name?: unknown } }).constructor?.name
  return typeof name === 'string' && name !== '' ? name : 'object'
}

// Globals in every target runtime; typed via InstanceType because @types/node declares them as values.
let encoder: InstanceType<typeof TextEncoder> | undefined
let decoder: InstanceType<typeof TextDecoder> | undefined
function utf8Encoder(): InstanceType<typeof TextEncoder> {
  return (encoder ??= new TextEncoder())
}
function utf8Decoder(): InstanceType<typeof TextDecoder> {
  // fatal: reject invalid UTF-8 instead of replacing it; ignoreBOM: keep a leading U+FEFF.
  return (decoder ??= new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }))
}
