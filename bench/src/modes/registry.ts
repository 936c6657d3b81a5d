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
  'mikro-find': async () => (await import('./mikro-orm-baselines.ts')).mikroFind,
  'mikro-offset-fork': async () => (await import('./mikro-orm-baselines.ts')).mikroOffsetFork,
  'mikro-stream': async () => (await import('./mikro-orm-baselines.ts')).mikroStream,
  'mikro-aiterator-keyset': async () => (await import('./mikro-orm-aiterator.ts')).mikroKeyset,
  'mikro-aiterator-cursor': async () => (await import('./mikro-orm-aiterator.ts')).mikroCursor,
  'slow-typeorm-keyset-p0': async () => (await import('./typeorm-aiterator.ts')).slowTypeormKeysetP0,
  'slow-typeorm-keyset-p1': async () => (await import('./typeorm-aiterator.ts')).slowTypeormKeysetP1,
  'slow-mikro-keyset-p0': async () => (await import('./mikro-orm-aiterator.ts')).slowMikroKeysetP0,
  'slow-mikro-keyset-p1': async () => (await import('./mikro-orm-aiterator.ts')).slowMikroKeysetP1,
}

/** Mode names in report order. */
export const modeNames: readonly string[] = Object.keys(modeLoaders)

/**
 * The baselines that hold every row of the table in memory at once. At 1M rows `em.find` needs more than
 * V8's default heap limit (4 GiB here), so these alone run with a larger `--max-old-space-size`; every other
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
  const load = modeLoaders[name]
  if (load === undefined) {
    throw new RangeError(`Unknown mode ${JSON.stringify(name)}; accepted: ${modeNames.join(', ')}`)
  }
  return load()
}
