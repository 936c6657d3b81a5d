import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeBase64url, encodeBase64url } from '../src/base64url.js'
import { crc32 } from '../src/crc32.js'

describe('base64url (internal to resume tokens)', () => {
  it('encodes like RFC 4648 base64url without padding (Buffer as the reference)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        (bytes) => encodeBase64url(bytes) === Buffer.from(bytes).toString('base64url'),
      ),
      { numRuns: 500 },
    )
  })

  it('decodes what it encodes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const back = decodeBase64url(encodeBase64url(bytes))
        return back !== undefined && back.length === bytes.length && back.every((b, i) => b === bytes[i])
      }),
      { numRuns: 500 },
    )
  })

  it('refuses non-canonical text: padding, foreign characters, impossible lengths, stray low bits', () => {
    expect(decodeBase64url('QQ')).toEqual(new Uint8Array([65]))
    expect(decodeBase64url('QR')).toBeUndefined() // same byte, but the unused low bits are set
    expect(decodeBase64url('QQ==')).toBeUndefined()
    expect(decodeBase64url('Q')).toBeUndefined()
    expect(decodeBase64url('QQ+/')).toBeUndefined()
    expect(decodeBase64url('QQé')).toBeUndefined()
    expect(decodeBase64url('')).toEqual(new Uint8Array(0))
  })
})

describe('crc32 (internal to resume tokens)', () => {
  it('matches the standard check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926)
    expect(crc32(new Uint8Array(0))).toBe(0)
  })
})
