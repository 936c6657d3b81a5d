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
  'mikro-find': async () => (await import('./mikro-orm-baselines.ts')).mikroFind,
  'mikro-offset-fork': async () => (await import('./mikro-orm-baselines.ts')).mikroOffsetFork,
  'mikro-stream': async () => (await import('./mikro-orm-baselines.ts')).mikroStream,
}

/** Mode names in report order. */
export const modeNames: readonly string[] = Object.keys(modeLoaders)

export async function loadMode(name: string): Promise<Mode> {
  const load = modeLoaders[name]
  if (load === undefined) {
    throw new RangeError(`Unknown mode ${JSON.stringify(name)}; accepted: ${modeNames.join(', ')}`)
  }
  return load()
}
