/**
 * A small seeded pseudo-random generator (sfc32, seeded through splitmix32), so fixture data is the same on
 * every machine and every run. Never use `Math.random` for fixture data.
 *
 * @example
 * ```ts
 * const random = createRandom(42)
 * random.int(1, 5) // same value for seed 42, every time
 * ```
 */
export interface Random {
  /** A float in [0, 1). */
  next(): number
  /** An integer in [min, max], both inclusive. */
  int(min: number, max: number): number
  /** True with the given probability. */
  chance(probability: number): boolean
  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T
}

/** A generator for `seed`; `stream` derives an independent sequence (one per table) from the same seed. */
export function createRandom(seed: number, stream = 0): Random {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, received ${String(seed)}`)
  let mix = (seed ^ Math.imul(stream + 1, 0x9e3779b9)) >>> 0
  const splitmix = (): number => {
    mix = (mix + 0x9e3779b9) >>> 0
    let z = mix
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
    return (z ^ (z >>> 16)) >>> 0
  }
  let a = splitmix()
  let b = splitmix()
  let c = splitmix()
  let d = splitmix()

  const nextUint32 = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0
    d = (d + 1) >>> 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) >>> 0
    c = ((c << 21) | (c >>> 11)) >>> 0
    c = (c + t) >>> 0
    return t
  }
  // Discard the first outputs: sfc32 mixes its state in over a few rounds.
  for (let i = 0; i < 12; i++) nextUint32()

  const next = (): number => nextUint32() / 4294967296
  return {
    next,
    int(min, max) {
      return min + Math.floor(next() * (max - min + 1))
    },
    chance(probability) {
      return next() < probability
    },
    pick(items) {
      if (items.length === 0) throw new RangeError('pick() needs a non-empty list')
      return items[Math.floor(next() * items.length)] as (typeof items)[number]
    },
  }
}
