import '@batchyield/mikro-orm'
// Not public API: the adapter's own detection, asked after the timed run which paths this MikroORM takes
// (the same checks, on the same MikroORM copy and environment, as the run's).
import { pathsOf } from '../../../packages/mikro-orm/src/internals.ts'
import { EventEntity } from '../entities/mikro-orm-event.ts'
import type { Mode } from './mode.ts'
import { openMikroOrm } from './mikro-orm-connection.ts'

/**
 * `em.aiterator()` from @batchyield/mikro-orm with one strategy, read-ahead and consumer speed; with
 * `paths: 'public'` on MikroORM's public API (`BATCHYIELD_MIKRO_PATHS=public`) instead of the fast paths.
 */
function mikroAiterator(
  strategy: 'keyset' | 'cursor',
  prefetch: 0 | 1,
  consumerDelayMs = 0,
  paths: 'detected' | 'public' = 'detected',
): Mode {
  const slow = consumerDelayMs > 0
  const publicPaths = paths === 'public'
  return {
    name:
      (slow ? `slow-mikro-${strategy}-p${prefetch}` : `mikro-aiterator-${strategy}`) + (publicPaths ? '-public' : ''),
    library: 'MikroORM',
    description:
      `@batchyield/mikro-orm \`em.aiterator(Event, { strategy: '${strategy}', prefetch: ${prefetch} })\`, batches of batchYieldSize` +
      (slow ? `, consumer awaits ${consumerDelayMs} ms per batch` : '') +
      (publicPaths ? ", with `BATCHYIELD_MIKRO_PATHS=public` (MikroORM's public API instead of the fast paths)" : ''),
    consumerDelayMs,
    supportsLimit: true,
    async prepare(config) {
      // read by the adapter at its first run in this process
      if (publicPaths) process.env.BATCHYIELD_MIKRO_PATHS = 'public'
      const orm = await openMikroOrm(config.url)
      return {
        async run(sink) {
          const batches = orm.em.fork().aiterator(EventEntity, {
            batchYieldSize: config.batchYieldSize,
            chunkSize: config.chunkSize,
            strategy,
            prefetch,
            ...(config.limit === undefined ? {} : { limit: config.limit }),
          })
          for await (const batch of batches) await sink(batch)
        },
        async paths() {
          const taken = pathsOf(orm.em.fork())
          const fast = Object.entries(taken).filter(([, path]) => path !== 'public')
          if (publicPaths && fast.length > 0)
            throw new Error(
              `BATCHYIELD_MIKRO_PATHS=public, yet ${fast.map(([part]) => part).join(', ')} took the fast path`,
            )
          return { ...taken }
        },
        close: () => orm.close(),
      }
    },
  }
}

export const mikroKeyset = mikroAiterator('keyset', 1)
export const mikroCursor = mikroAiterator('cursor', 1)
export const mikroKeysetPublic = mikroAiterator('keyset', 1, 0, 'public')
export const mikroCursorPublic = mikroAiterator('cursor', 1, 0, 'public')
export const slowMikroKeysetP0 = mikroAiterator('keyset', 0, 5)
export const slowMikroKeysetP1 = mikroAiterator('keyset', 1, 5)
