import '@batchyield/typeorm'
// Not public API: the adapter's own detection, asked after the timed run which path this TypeORM takes
// (the same feature checks and probes, on the same TypeORM copy and environment, as the run's).
import { pathsOf } from '../../../packages/typeorm/src/internals.ts'
import type { Mode } from './mode.ts'
import { eventsQuery, openTypeormDataSource } from './typeorm-connection.ts'

/**
 * `qb.aiterator()` from @batchyield/typeorm with one strategy, read-ahead and consumer speed; with
 * `paths: 'public'` on TypeORM's public API (`BATCHYIELD_TYPEORM_PATHS=public`) instead of the fast paths.
 */
function typeormAiterator(
  strategy: 'keyset' | 'cursor',
  prefetch: 0 | 1,
  consumerDelayMs = 0,
  paths: 'detected' | 'public' = 'detected',
): Mode {
  const slow = consumerDelayMs > 0
  const publicPaths = paths === 'public'
  return {
    name:
      (slow ? `slow-typeorm-${strategy}-p${prefetch}` : `typeorm-aiterator-${strategy}-p${prefetch}`) +
      (publicPaths ? '-public' : ''),
    library: 'TypeORM',
    description:
      `@batchyield/typeorm \`qb.aiterator({ strategy: '${strategy}', prefetch: ${prefetch} })\`, batches of batchYieldSize` +
      (slow ? `, consumer awaits ${consumerDelayMs} ms per batch` : '') +
      (publicPaths ? ", with `BATCHYIELD_TYPEORM_PATHS=public` (TypeORM's public API instead of the fast paths)" : ''),
    consumerDelayMs,
    supportsLimit: true,
    async prepare(config) {
      // read by the adapter at its first run in this process
      if (publicPaths) process.env.BATCHYIELD_TYPEORM_PATHS = 'public'
      const dataSource = await openTypeormDataSource(config.url)
      return {
        async run(sink) {
          const batches = eventsQuery(dataSource).aiterator({
            batchYieldSize: config.batchYieldSize,
            chunkSize: config.chunkSize,
            strategy,
            prefetch,
            ...(config.limit === undefined ? {} : { limit: config.limit }),
          })
          for await (const batch of batches) await sink(batch)
        },
        async paths() {
          const taken = (await pathsOf(eventsQuery(dataSource)))[strategy]
          if (publicPaths && taken !== 'public')
            throw new Error(`BATCHYIELD_TYPEORM_PATHS=public, yet the ${strategy} strategy took the ${taken} path`)
          return { [strategy]: taken }
        },
        close: () => dataSource.destroy(),
      }
    },
  }
}

export const typeormKeysetP0 = typeormAiterator('keyset', 0)
export const typeormKeysetP1 = typeormAiterator('keyset', 1)
export const typeormCursorP0 = typeormAiterator('cursor', 0)
export const typeormCursorP1 = typeormAiterator('cursor', 1)
export const typeormKeysetP1Public = typeormAiterator('keyset', 1, 0, 'public')
export const typeormCursorP1Public = typeormAiterator('cursor', 1, 0, 'public')
export const slowTypeormKeysetP0 = typeormAiterator('keyset', 0, 5)
export const slowTypeormKeysetP1 = typeormAiterator('keyset', 1, 5)
