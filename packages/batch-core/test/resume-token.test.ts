import fc from 'fast-check'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { encodeBase64url } from '../src/base64url.js'
import { crc32 } from '../src/crc32.js'
import { InvalidResumeTokenError } from '../src/errors.js'
import type { KeyShape, SortKey } from '../src/keyset-types.js'
import { decodeResumeToken, encodeResumeToken } from '../src/resume-token.js'

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

const key = (field: string, direction: 'asc' | 'desc' = 'asc', nulls: 'first' | 'last' = 'last'): SortKey => ({
  field,
  direction,
  nulls,
})
const shapeOf = (n: number, fingerprint = 'Book'): KeyShape => ({
  keys: Array.from({ length: n }, (_, i) => key(`k${i}`, i % 2 ? 'desc' : 'asc', i % 3 ? 'first' : 'last')),
  fingerprint,
})

/** The error a call throws, or undefined. */
function thrown(call: () => unknown): unknown {
  try {
    call()
  } catch (error) {
    return error
  }
  return undefined
}

/** Same value and same type: Object.is for primitives (so -0 and NaN count), by content for Dates and bytes. */
function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Date) return b instanceof Date && Object.is(a.getTime(), b.getTime())
  if (a instanceof Uint8Array) return b instanceof Uint8Array && a.length === b.length && a.every((x, i) => x === b[i])
  return Object.is(a, b)
}

const anyKeyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.double(), // includes -0, NaN, ±Infinity, subnormals
  fc.constantFrom(
    0,
    -0,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    Number.MAX_SAFE_INTEGER + 1,
    Number.MIN_VALUE,
  ),
  fc.bigInt(),
  fc.bigInt({ min: -(2n ** 300n), max: 2n ** 300n }),
  fc.string({ unit: 'binary' }), // lone surrogates included
  fc.string({ unit: 'grapheme' }),
  fc.constantFrom('', '"', "'", '\\', '\u0000', '\uFEFFbom', 'a\u0000b"\'\\', '😀', '\uD800', '\uDC00x'),
  fc.date({ noInvalidDate: true }),
  fc.constantFrom(new Date(8.64e15), new Date(-8.64e15), new Date(0)),
  fc.uint8Array({ maxLength: 40 }),
  fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes)),
)

const anyShape = fc.record({
  keys: fc.uniqueArray(
    fc.record({
      field: fc.string({ minLength: 1, maxLength: 8 }),
      direction: fc.constantFrom('asc' as const, 'desc' as const),
      nulls: fc.constantFrom('first' as const, 'last' as const),
    }),
    { minLength: 1, maxLength: 5, selector: (k) => k.field },
  ),
  fingerprint: fc.string(),
})

const anyShapeWithValues = anyShape.chain((shape) =>
  fc.tuple(fc.constant(shape), fc.array(anyKeyValue, { minLength: shape.keys.length, maxLength: shape.keys.length })),
)

describe('resume tokens: round trip', () => {
  it('decodes every supported value to the same value of the same type', () => {
    fc.assert(
      fc.property(anyShapeWithValues, ([shape, values]) => {
        const decoded = decodeResumeToken(encodeResumeToken(shape, values), shape)
        return decoded.length === values.length && decoded.every((v, i) => sameValue(values[i], v))
      }),
      { numRuns: 1000 },
    )
  })

  it('produces URL-safe base64url without padding, the same for the same input', () => {
    fc.assert(
      fc.property(anyShapeWithValues, ([shape, values]) => {
        const token = encodeResumeToken(shape, values)
        return /^[A-Za-z0-9_-]+$/.test(token) && token === encodeResumeToken(shape, values)
      }),
    )
  })

  it('keeps -0, NaN, Infinity, huge bigints and tricky strings exactly', () => {
    const values = [
      -0,
      Number.NaN,
      Number.NEGATIVE_INFINITY,
      -(2n ** 200n) + 1n,
      'O\'Brien "q" \\ \u0000 \uD83D',
      new Date(Date.UTC(1969, 11, 31, 23, 59, 59, 999)),
    ]
    const shape = shapeOf(values.length)
    const decoded = decodeResumeToken(encodeResumeToken(shape, values), shape)
    expect(Object.is(decoded[0], -0)).toBe(true)
    expect(decoded[1]).toBeNaN()
    expect(decoded.slice(2)).toEqual(values.slice(2))
  })

  it('returns byte values as a fresh Buffer in Node', () => {
    const original = new Uint8Array([0, 1, 254, 255])
    const shape = shapeOf(1)
    const [decoded] = decodeResumeToken(encodeResumeToken(shape, [original]), shape)
    expect(Buffer.isBuffer(decoded)).toBe(true)
    expect([...(decoded as Uint8Array)]).toEqual([0, 1, 254, 255])
    expect(decoded).not.toBe(original)
  })

  describe('without a global Buffer (browsers, Deno)', () => {
    afterEach(() => vi.unstubAllGlobals())

    it('returns byte values as a plain Uint8Array', () => {
      const shape = shapeOf(1)
      const token = encodeResumeToken(shape, [Buffer.from([7, 8, 9])])
      vi.stubGlobal('Buffer', undefined)
      const [decoded] = decodeResumeToken(token, shape)
      expect(decoded).toBeInstanceOf(Uint8Array)
      expect(Object.getPrototypeOf(decoded)).toBe(Uint8Array.prototype)
      expect([...(decoded as Uint8Array)]).toEqual([7, 8, 9])
    })
  })

  it('keeps tokens short: 15 characters for a single integer id, 28 for a date and an id', () => {
    const single = {
      keys: [{ field: 'id', direction: 'asc', nulls: 'last', nullable: false }],
      fingerprint: 'Book',
    } as const
    expect(encodeResumeToken(single, [41])).toHaveLength(15)
    expect(encodeResumeToken(shapeOf(2), [new Date('2026-11-25T09:00:00.123Z'), 123456789])).toHaveLength(28)
  })

  it('accepts a shape that differs only in nullable (it does not change the order)', () => {
    const token = encodeResumeToken({ keys: [key('id')], fingerprint: 'Book' }, [5])
    expect(decodeResumeToken(token, { keys: [{ ...key('id'), nullable: false }], fingerprint: 'Book' })).toEqual([5])
  })
})

describe('resume tokens: rejected with InvalidResumeTokenError', () => {
  const shape: KeyShape = {
    keys: [key('publishedAt', 'desc', 'first'), key('title'), { ...key('id'), nullable: false }],
    fingerprint: 'Book',
  }
  const samples: [string, unknown[]][] = [
    ['date, string, int', [new Date('2024-02-29T12:00:00Z'), 'Dune', 41]],
    ['null, bytes, bigint', [null, new Uint8Array([1, 2, 3]), 2n ** 70n]],
    ['float, boolean, string', [0.5, true, 'é"\\']],
  ]

  it.each([
    ['another fingerprint', { ...shape, fingerprint: 'Author' }],
    ['another direction', { ...shape, keys: [key('publishedAt', 'asc', 'first'), ...shape.keys.slice(1)] }],
    ['another NULL placement', { ...shape, keys: [key('publishedAt', 'desc', 'last'), ...shape.keys.slice(1)] }],
    ['another field', { ...shape, keys: [key('createdAt', 'desc', 'first'), ...shape.keys.slice(1)] }],
    ['the same keys in another order', { ...shape, keys: [shape.keys[1]!, shape.keys[0]!, shape.keys[2]!] }],
    ['one key fewer', { ...shape, keys: shape.keys.slice(1) }],
    ['one key more', { ...shape, keys: [key('rating'), ...shape.keys] }],
  ])('a token made for %s: says it was made for a different query and what to do', (_, other) => {
    const token = encodeResumeToken(shape, samples[0]![1])
    const error = thrown(() => decodeResumeToken(token, other))
    expect(error).toBeInstanceOf(InvalidResumeTokenError)
    expect((error as Error).message).toMatch(
      /made for a different query \(ordering, sort keys or entity\); start without `after`/,
    )
  })

  it.each(samples)('any single changed character (%s), at every position, to every other character', (_, values) => {
    const token = encodeResumeToken(shape, values)
    let tries = 0
    for (let i = 0; i < token.length; i++) {
      for (const c of ALPHABET) {
        if (c === token[i]) continue
        const altered = token.slice(0, i) + c + token.slice(i + 1)
        expect(
          thrown(() => decodeResumeToken(altered, shape)),
          altered,
        ).toBeInstanceOf(InvalidResumeTokenError)
        tries++
      }
    }
    expect(tries).toBe(token.length * 63)
  })

  it.each(samples)('every truncation and every one-character extension (%s)', (_, values) => {
    const token = encodeResumeToken(shape, values)
    for (let n = 0; n < token.length; n++) {
      expect(
        thrown(() => decodeResumeToken(token.slice(0, n), shape)),
        token.slice(0, n),
      ).toBeInstanceOf(InvalidResumeTokenError)
    }
    for (const c of ALPHABET)
      expect(thrown(() => decodeResumeToken(token + c, shape))).toBeInstanceOf(InvalidResumeTokenError)
  })

  it('explains a damaged token: checksum mismatch, pass it exactly as reported', () => {
    const token = encodeResumeToken(shape, samples[0]![1])
    const altered = token.slice(0, 10) + (token[10] === 'A' ? 'B' : 'A') + token.slice(11)
    expect(() => decodeResumeToken(altered, shape)).toThrow(
      /damaged \(checksum mismatch: truncated or altered\); pass it exactly as it was reported/,
    )
  })

  it('explains text that is not base64url, padding included', () => {
    const token = encodeResumeToken(shape, samples[0]![1])
    for (const bad of [
      `${token}=`,
      `${token.slice(0, 5)}+${token.slice(6)}`,
      `${token} `,
      `${token.slice(0, 4)}é${token.slice(5)}`,
    ]) {
      const error = thrown(() => decodeResumeToken(bad, shape))
      expect(error).toBeInstanceOf(InvalidResumeTokenError)
      expect((error as Error).message).toMatch(/not base64url text/)
    }
  })

  it('rejects the empty string as an empty token', () => {
    expect(() => decodeResumeToken('', shape)).toThrow(
      new InvalidResumeTokenError(
        'the resume token is empty; start without `after` (or with a token that this same query reported as `cursor`)',
      ),
    )
  })

  it('rejects any random string, and any random base64url text, with InvalidResumeTokenError only', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary' }),
          fc.string({ unit: fc.constantFrom(...ALPHABET) }),
          fc.string({ unit: fc.constantFrom(...ALPHABET), minLength: 12 }),
        ),
        (text) => {
          return thrown(() => decodeResumeToken(text, shape)) instanceof InvalidResumeTokenError
        },
      ),
      { numRuns: 2000 },
    )
  })

  /** A token with a correct version, shape hash and checksum around arbitrary value bytes. */
  function forge(version: number, shapeHashOf: KeyShape, payload: Uint8Array): string {
    const canonical = JSON.stringify([
      shapeHashOf.fingerprint,
      shapeHashOf.keys.map((k) => [k.field, k.direction, k.nulls]),
    ])
    const hash = crc32(new TextEncoder().encode(canonical))
    const body = new Uint8Array([version, hash >>> 24, (hash >>> 16) & 255, (hash >>> 8) & 255, hash & 255, ...payload])
    const sum = crc32(body)
    return encodeBase64url(new Uint8Array([...body, sum >>> 24, (sum >>> 16) & 255, (sum >>> 8) & 255, sum & 255]))
  }

  it('the forge helper builds what the encoder builds (so the tests below reach the value reader)', () => {
    const single: KeyShape = { keys: [key('id')], fingerprint: 'Book' }
    expect(forge(1, single, new Uint8Array([3, 82]))).toBe(encodeResumeToken(single, [41]))
  })

  it('a hand-built token with an intact checksum but unreadable values: InvalidResumeTokenError, never another error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 30 }), (payload) => {
        const error = thrown(() => decodeResumeToken(forge(1, shape, payload), shape))
        return error === undefined || error instanceof InvalidResumeTokenError
      }),
      { numRuns: 3000 },
    )
    for (const payload of [
      [11], // unknown tag
      [3, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], // varint too long
      [3, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], // integer beyond MAX_SAFE_INTEGER
      [9, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40], // date beyond ±8.64e15
      [7, 2, 0xc3], // string cut short
      [7, 1, 0xff], // invalid UTF-8
      [8, 1, 0x00], // odd UTF-16 length
      [4, 0, 0, 0], // float cut short
      [0, 0, 0, 0], // trailing bytes after three nulls
    ]) {
      const error = thrown(() => decodeResumeToken(forge(1, shape, new Uint8Array(payload)), shape))
      expect(error, JSON.stringify(payload)).toBeInstanceOf(InvalidResumeTokenError)
      expect((error as Error).message).toMatch(/values cannot be read/)
    }
  })

  it('a token of another format version says so', () => {
    const error = thrown(() => decodeResumeToken(forge(2, shape, new Uint8Array([0, 0, 0])), shape))
    expect(error).toBeInstanceOf(InvalidResumeTokenError)
    expect((error as Error).message).toMatch(
      /format version 2, but this version of @batchyield\/batch-core reads version 1/,
    )
  })
})

describe('resume tokens: programming errors', () => {
  it.each([42, null, undefined, {}, Buffer.from('AQ')])('decode of a non-string (%s) is a plain TypeError', (value) => {
    const error = thrown(() => decodeResumeToken(value as string, shapeOf(1)))
    expect(error).toBeInstanceOf(TypeError)
    expect(error).not.toBeInstanceOf(InvalidResumeTokenError)
    expect((error as Error).message).toMatch(
      /resume token must be a string \(the `cursor` reported by onProgress, passed back as `after`\); received/,
    )
  })

  it('encode names the key of a value it cannot store', () => {
    const shape: KeyShape = { keys: [key('id'), key('publishedAt')], fingerprint: 'Book' }
    expect(() => encodeResumeToken(shape, [1, new Date(Number.NaN)])).toThrow(
      new RangeError('values[1] (sort key "publishedAt") is an invalid Date; a resume token cannot point after it'),
    )
    expect(() => encodeResumeToken(shape, [undefined, 1])).toThrow(
      /values\[0\] \(sort key "id"\) cannot be stored in a resume token: undefined \(undefined\); supported are null, boolean, number, bigint, string, Date and Uint8Array\/Buffer/,
    )
    expect(() => encodeResumeToken(shape, [1, { a: 1 }])).toThrow(
      /values\[1\] \(sort key "publishedAt"\) cannot be stored.*\{"a":1\} \(Object\)/,
    )
    expect(() => encodeResumeToken(shape, [1, new Uint16Array(2)])).toThrow(/\(Uint16Array\)/)
    expect(() => encodeResumeToken(shape, [Symbol('s'), 1])).toThrow(TypeError)
  })

  it('encode and decode validate the shape and the number of values', () => {
    expect(() => encodeResumeToken(shapeOf(2), [1])).toThrow(
      new RangeError('values must have one value per sort key (2); received 1 values'),
    )
    expect(() => encodeResumeToken(shapeOf(1), 'x' as unknown as unknown[])).toThrow(/values must be an array/)
    expect(() => encodeResumeToken({ keys: [], fingerprint: 'Book' }, [])).toThrow(
      /shape\.keys must contain at least one sort key/,
    )
    expect(() => encodeResumeToken({ keys: [key('id')] } as unknown as KeyShape, [1])).toThrow(
      /shape\.fingerprint must be a string/,
    )
    expect(() =>
      decodeResumeToken('AQ', { keys: [{ ...key('id'), direction: 'up' as 'asc' }], fingerprint: 'Book' }),
    ).toThrow(RangeError)
    expect(() => decodeResumeToken('AQ', null as unknown as KeyShape)).toThrow(/shape must be \{ keys, fingerprint \}/)
  })
})
