/**
 * Neighbouring floating-point values: the next representable value above or below, one ulp (unit in
 * the last place) apart. Sort keys that differ only in their last bit are where a lossy key (a float
 * printed with too few digits, a FLOAT widened to a JS double) makes a keyset seek skip or repeat rows.
 *
 * @example
 * ```ts
 * nextDouble(0.3)       // 0.30000000000000004
 * nextFloat32(0.3, -1)  // the float32 just below Math.fround(0.3), as a JS number
 * ```
 */

const double = new Float64Array(1)
const doubleBits = new BigInt64Array(double.buffer)
const single = new Float32Array(1)
const singleBits = new Int32Array(single.buffer)

/** The double next to `x` in `direction` (+1 up, -1 down). `x` must be finite and not zero. */
export function nextDouble(x: number, direction: 1 | -1 = 1): number {
  checkFiniteNonZero(x)
  double[0] = x
  // For a positive x, a larger bit pattern is a larger value; for a negative x, a smaller one.
  doubleBits[0]! += BigInt(Math.sign(x) * direction)
  return double[0]!
}

/**
 * The float32 next to `Math.fround(x)` in `direction`, returned as the JS number (double) that holds it
 * exactly. `String()` of it is a decimal that any parser rounds back to that float32.
 */
export function nextFloat32(x: number, direction: 1 | -1 = 1): number {
  checkFiniteNonZero(x)
  single[0] = x
  singleBits[0]! += Math.sign(x) * direction
  return single[0]!
}

/** `x` and its neighbours one and two ulps away on each side, as doubles, in ascending order. */
export function doubleNeighbourhood(x: number): number[] {
  return [nextDouble(nextDouble(x, -1), -1), nextDouble(x, -1), x, nextDouble(x, 1), nextDouble(nextDouble(x, 1), 1)]
}

/** `Math.fround(x)` and its float32 neighbours one ulp away on each side, in ascending order. */
export function float32Neighbourhood(x: number): number[] {
  return [nextFloat32(x, -1), Math.fround(x), nextFloat32(x, 1)]
}

function checkFiniteNonZero(x: number): void {
  if (!Number.isFinite(x) || x === 0) throw new RangeError(`expected a finite, non-zero number, received ${String(x)}`)
}
