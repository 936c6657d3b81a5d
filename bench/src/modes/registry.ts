import type { Mode } from './mode.ts'

/**
 * Every mode by name, in report order, loaded lazily: a child process imports only the library it
 * measures, so one ORM's footprint never shows up in another mode's memory.
 */
export const modeLoaders: Record<string, () => Promise<Mode>> = {
  floor: async () => (await import('./floor.ts')).floor,
  'typeorm-getmany': async () => (await import('./typeorm-baselines.ts')).typeormGetMany,
  'typeorm-skip-take': async () => (await import('./typeorm-baselines.ts')).typeormSkipTake,
  'typeorm-stream': async () => (await import('./typeorm-baselines.ts')).typeormStream,
  'typeorm-aiterator-keyset-p0': async () => (await import('./typeorm-aiterator.ts')).typeormKeysetP0,
  'typeorm-aiterator-keyset-p1': async () => (await import('./typeorm-aiterator.ts')).typeormKeysetP1,
  'typeorm-aiterator-cursor-p0': async () => (await import('./typeorm-aiterator.ts')).typeormCursorP0,
  'typeorm-aiterator-cursor-p1': async () => (await import('./typeorm-aiterator.ts')).typeormCursorP1,
  'typeorm-aiterator-keyset-p1-public': async () => (await import('./typeorm-aiterator.ts')).typeormKeysetP1Public,
  'typeorm-aiterator-cursor-p1-public': async () => (await import('./typeorm-aiterator.ts')).typeormCursorP1Public,
  'mikro-find': async () => (await import('./mikro-orm-baselines.ts')).mikroFind,
  'mikro-offset-fork': async () => (await import('./mikro-orm-baselines.ts')).mikroOffsetFork,
  'mikro-stream': async () => (await import('./mikro-orm-baselines.ts')).mikroStream,
  'mikro-aiterator-keyset': async () => (await import('./mikro-orm-aiterator.ts')).mikroKeyset,
  'mikro-aiterator-cursor': async () => (await import('./mikro-orm-aiterator.ts')).mikroCursor,
  'mikro-aiterator-keyset-public': async () => (await import('./mikro-orm-aiterator.ts')).mikroKeysetPublic,
  'mikro-aiterator-cursor-public': async () => (await import('./mikro-orm-aiterator.ts')).mikroCursorPublic,
  'slow-typeorm-keyset-p0': async () => (await import('./typeorm-aiterator.ts')).slowTypeormKeysetP0,
  'slow-typeorm-keyset-p1': async () => (await import('./typeorm-aiterator.ts')).slowTypeormKeysetP1,
  'slow-mikro-keyset-p0': async () => (await import('./mikro-orm-aiterator.ts')).slowMikroKeysetP0,
  'slow-mikro-keyset-p1': async () => (await import('./mikro-orm-aiterator.ts')).slowMikroKeysetP1,
}

/** Mode names in report order. */
export const modeNames: readonly string[] = Object.keys(modeLoaders)

/**
 * The wide-row modes of `npm run bench:wide` (table `wide_events`), in report order: each adapter and
 * strategy with the defaults, then the same with `maxChunkBytes: Infinity`. Not part of `npm run bench`.
 */
export const wideModeLoaders: Record<string, () => Promise<Mode>> = {
  'wide-typeorm-keyset': async () => (await import('./wide-typeorm.ts')).wideTypeormKeyset,
  'wide-typeorm-cursor': async () => (await import('./wide-typeorm.ts')).wideTypeormCursor,
  'wide-mikro-keyset': async () => (await import('./wide-mikro-orm.ts')).wideMikroKeyset,
  'wide-mikro-cursor': async () => (await import('./wide-mikro-orm.ts')).wideMikroCursor,
  'wide-typeorm-keyset-unbounded': async () => (await import('./wide-typeorm.ts')).wideTypeormKeysetUnbounded,
  'wide-typeorm-cursor-unbounded': async () => (await import('./wide-typeorm.ts')).wideTypeormCursorUnbounded,
  'wide-mikro-keyset-unbounded': async () => (await import('./wide-mikro-orm.ts')).wideMikroKeysetUnbounded,
  'wide-mikro-cursor-unbounded': async () => (await import('./wide-mikro-orm.ts')).wideMikroCursorUnbounded,
}

/** Wide mode names in report order. */
export const wideModeNames: readonly string[] = Object.keys(wideModeLoaders)

/**
 * The baselines that hold every row of the table in memory at once. At 1M rows `em.find` needs more than
 * V8's default heap limit, so these alone run with a larger `--max-old-space-size`; every other
 * mode runs with Node's defaults, as a user would run it.
 */
export const wholeTableModes: ReadonlySet<string> = new Set(['typeorm-getmany', 'mikro-find'])

/**
 * The Node flags of a mode's child process: `baseArgs` (without any `--max-old-space-size`), plus
 * `--max-old-space-size=<heapMib>` for the {@link wholeTableModes} only.
 *
 * @example
 * childNodeArgs('mikro-find', 16384)             // ['--max-old-space-size=16384']
 * childNodeArgs('typeorm-aiterator-keyset-p1', 16384) // [] (Node's defaults)
 */
export function childNodeArgs(mode: string, heapMib: number, baseArgs: readonly string[] = []): string[] {
  const base = baseArgs.filter((arg) => !arg.startsWith('--max-old-space-size'))
  return wholeTableModes.has(mode) ? [...base, `--max-old-space-size=${heapMib}`] : base
}

export async function loadMode(name: string): Promise<Mode> {
  const load = modeLoaders[name] ?? wideModeLoaders[name]
  if (load === undefined) {
    throw new RangeError(
      `Unknown mode ${JSON.stringify(name)}; accepted: ${[...modeNames, ...wideModeNames].join(', ')}`,
    )
  }
  return load()
}

/**
 * The names among `names` that `filter` selects: comma-separated names or prefixes ending in `*`; all of
 * them when `filter` is undefined. Throws a TypeError naming the patterns that match nothing.
 *
 * @example
 * selectModeNames('floor,typeorm-*', modeNames) // ['floor', 'typeorm-getmany', 'typeorm-skip-take', …]
 */
export function selectModeNames(filter: string | undefined, names: readonly string[]): string[] {
  if (filter === undefined) return [...names]
  const patterns = filter
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
  const matches = (name: string, p: string) => (p.endsWith('*') ? name.startsWith(p.slice(0, -1)) : name === p)
  const unmatched = patterns.filter((p) => !names.some((name) => matches(name, p)))
  if (unmatched.length || patterns.length === 0) {
    throw new TypeError(
      `--modes: no mode matches ${unmatched.length ? unmatched.map((p) => JSON.stringify(p)).join(', ') : JSON.stringify(filter)}; modes: ${names.join(', ')}`,
    )
  }
  return names.filter((name) => patterns.some((p) => matches(name, p)))
}
