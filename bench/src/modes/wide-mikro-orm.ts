import '@batchyield/mikro-orm'
import { MikroORM } from '@mikro-orm/postgresql'
import { WideEventEntity } from '../entities/mikro-orm-wide-event.ts'
import type { Mode } from './mode.ts'
import { boundOptions, describeWideCall, type WideBound, wideChecksumOf, wideModeName } from './wide-common.ts'

/**
 * `em.aiterator(WideEvent, …)` over `wide_events` with the library's defaults (only the strategy and
 * batchYieldSize given), or with `maxChunkBytes: Infinity` (`unbounded`: how it read before the byte bound).
 */
function mikroWide(strategy: 'keyset' | 'cursor', bound: WideBound): Mode {
  return {
    name: wideModeName('mikro', strategy, bound),
    library: 'MikroORM',
    description: `@batchyield/mikro-orm ${describeWideCall('em.aiterator(WideEvent, ', strategy, bound)}`,
    consumerDelayMs: 0,
    supportsLimit: true,
    checksumOf: wideChecksumOf,
    async prepare(config) {
      const orm = await MikroORM.init({
        clientUrl: config.url,
        entities: [WideEventEntity],
        debug: false,
        pool: { min: 1, max: 2 },
      })
      // Before timing: connect and load one entity, as the `events` modes do.
      await orm.em.fork().find(WideEventEntity, {}, { orderBy: { id: 'asc' }, limit: 1 })
      return {
        async run(sink) {
          const batches = orm.em.fork().aiterator(WideEventEntity, {
            strategy,
            batchYieldSize: config.batchYieldSize,
            ...boundOptions(bound),
            ...(config.limit === undefined ? {} : { limit: config.limit }),
          })
          for await (const batch of batches) await sink(batch)
        },
        close: () => orm.close(),
      }
    },
  }
}

export const wideMikroKeyset = mikroWide('keyset', 'default')
export const wideMikroCursor = mikroWide('cursor', 'default')
export const wideMikroKeysetUnbounded = mikroWide('keyset', 'unbounded')
export const wideMikroCursorUnbounded = mikroWide('cursor', 'unbounded')
