import '@batchyield/mikro-orm'
import { EventEntity } from '../entities/mikro-orm-event.ts'
import type { Mode } from './mode.ts'
import { openMikroOrm } from './mikro-orm-connection.ts'

/** `em.aiterator()` from @batchyield/mikro-orm with one strategy, read-ahead and consumer speed. */
function mikroAiterator(strategy: 'keyset' | 'cursor', prefetch: 0 | 1, consumerDelayMs = 0): Mode {
  const slow = consumerDelayMs > 0
  return {
    name: slow ? `slow-mikro-${strategy}-p${prefetch}` : `mikro-aiterator-${strategy}`,
    library: 'MikroORM',
    description: `@batchyield/mikro-orm \`em.aiterator(Event, { strategy: '${strategy}', prefetch: ${prefetch} })\`, batches of batchYieldSize${slow ? `, consumer awaits ${consumerDelayMs} ms per batch` : ''}`,
    consumerDelayMs,
    supportsLimit: true,
    async prepare(config) {
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
        close: () => orm.close(),
      }
    },
  }
}

export const mikroKeyset = mikroAiterator('keyset', 1)
export const mikroCursor = mikroAiterator('cursor', 1)
export const slowMikroKeysetP0 = mikroAiterator('keyset', 0, 5)
export const slowMikroKeysetP1 = mikroAiterator('keyset', 1, 5)
