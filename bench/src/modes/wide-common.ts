/** What the wide modes (`npm run bench:wide`, table `wide_events`) share. */

/** Whether a wide mode keeps the engine's byte bound (`maxChunkBytes` left at its default) or turns it off. */
export type WideBound = 'default' | 'unbounded'

/** The name of a wide mode, e.g. `wide-typeorm-keyset`, `wide-mikro-cursor-unbounded`. */
export function wideModeName(library: 'typeorm' | 'mikro', strategy: 'keyset' | 'cursor', bound: WideBound): string {
  return `wide-${library}-${strategy}${bound === 'unbounded' ? '-unbounded' : ''}`
}

/** The options a wide mode adds to the iterator call: nothing with the defaults, `maxChunkBytes: Infinity` for the before-comparison. */
export function boundOptions(bound: WideBound): { maxChunkBytes?: number } {
  return bound === 'unbounded' ? { maxChunkBytes: Number.POSITIVE_INFINITY } : {}
}

/** A wide row's part of the checksum: its id plus its payload's length (see `expectedWideChecksum`). */
export function wideChecksumOf(item: object): number {
  const row = item as { id: number; payload: string }
  return row.id + row.payload.length
}

/**
 * What a wide mode calls, for its description.
 *
 * @example
 * describeWideCall('qb.aiterator(', 'keyset', 'unbounded')
 * // "`qb.aiterator({ strategy: 'keyset', batchYieldSize, maxChunkBytes: Infinity })`, chunkSize default (2000), prefetch default (1)"
 */
export function describeWideCall(call: string, strategy: 'keyset' | 'cursor', bound: WideBound): string {
  const defaults =
    bound === 'unbounded' ? 'chunkSize default (2000)' : 'chunkSize and maxChunkBytes default (2000, 16 MiB)'
  return `\`${call}{ strategy: '${strategy}', batchYieldSize${bound === 'unbounded' ? ', maxChunkBytes: Infinity' : ''} })\`, ${defaults}, prefetch default (1)`
}

/**
 * The adapter, strategy and bound a wide mode name stands for; undefined for any other name.
 *
 * @example
 * parseWideModeName('wide-mikro-cursor-unbounded') // { library: 'mikro', strategy: 'cursor', bound: 'unbounded' }
 */
export function parseWideModeName(
  name: string,
): { library: 'typeorm' | 'mikro'; strategy: 'keyset' | 'cursor'; bound: WideBound } | undefined {
  const match = /^wide-(typeorm|mikro)-(keyset|cursor)(-unbounded)?$/.exec(name)
  if (match === null) return undefined
  return {
    library: match[1] as 'typeorm' | 'mikro',
    strategy: match[2] as 'keyset' | 'cursor',
    bound: match[3] === undefined ? 'default' : 'unbounded',
  }
}
