/**
 * Base64url without padding (RFC 4648 §5), written out because `btoa` works on binary strings and
 * Buffer does not exist everywhere. Internal to resume tokens.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

let lookup: Int8Array | undefined

function decodeTable(): Int8Array {
  if (lookup) return lookup
  lookup = new Int8Array(128).fill(-1)
  for (let i = 0; i < ALPHABET.length; i++) lookup[ALPHABET.charCodeAt(i)] = i
  return lookup
}

export function encodeBase64url(bytes: Uint8Array): string {
  let out = ''
  let i = 0
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!
    out += ALPHABET[n >>> 18]! + ALPHABET[(n >>> 12) & 63]! + ALPHABET[(n >>> 6) & 63]! + ALPHABET[n & 63]!
  }
  const rest = bytes.length - i
  if (rest === 1) {
    const n = bytes[i]! << 16
    out += ALPHABET[n >>> 18]! + ALPHABET[(n >>> 12) & 63]!
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8)
    out += ALPHABET[n >>> 18]! + ALPHABET[(n >>> 12) & 63]! + ALPHABET[(n >>> 6) & 63]!
  }
  return out
}

/**
 * The bytes of a base64url string, or undefined when it is not canonical base64url: a character
 * outside the alphabet, padding, an impossible length, or non-zero unused bits in the last
 * character (so that exactly one string encodes each byte sequence).
 */
export function decodeBase64url(text: string): Uint8Array | undefined {
  if (text.length % 4 === 1) return undefined
  const table = decodeTable()
  const out = new Uint8Array(Math.floor((text.length * 3) / 4))
  let bits = 0
  let buffered = 0
  let o = 0
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    const v = code < 128 ? table[code]! : -1
    if (v < 0) return undefined
    buffered = (buffered << 6) | v
    bits += 6
    if (bits >= 8) {
      bits -= 8
      out[o++] = (buffered >>> bits) & 0xff
      buffered &= (1 << bits) - 1
    }
  }
  if (buffered !== 0) return undefined
  return out
}
