/**
 * CRC-32 (IEEE 802.3, the zlib/PNG one). Internal: resume tokens use it as a checksum, and it
 * detects every error burst of up to 32 bits, so changing any one character of a token (6 bits)
 * is always caught. It is not a signature: it protects against damage, not forgery.
 */

let table: Uint32Array | undefined

function crcTable(): Uint32Array {
  if (table) return table
  table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    table[n] = c >>> 0
  }
  return table
}

/** CRC-32 of `bytes` as an unsigned 32-bit integer; `crc32(utf8('123456789')) === 0xcbf43926`. */
export function crc32(bytes: Uint8Array): number {
  const t = crcTable()
  let c = 0xffffffff
  for (let i = 0; i < bytes.length; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}
