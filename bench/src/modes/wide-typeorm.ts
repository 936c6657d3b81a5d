import '@batchyield/typeorm'
import 'reflect-metadata'
import { DataSource } from 'typeorm'
import { WideEventSchema } from '../entities/typeorm-wide-event.ts'
import type { Mode } from './mode.ts'
import { boundOptions, describeWideCall, type WideBound, wideChecksumOf, wideModeName } from './wide-common.ts'

/**
 * `qb.aiterator()` over `wide_events` with the library's defaults (only the strategy and batchYieldSize
 * given), or with `maxChunkBytes: Infinity` (`unbounded`: how it read before the byte bound).
 */
function typeormWide(strategy: 'keyset' | 'cursor', bound: WideBound): Mode {
  return {
    name: wideModeName('typeorm', strategy, bound),
    library: 'TypeORM',
    description: `@batchyield/typeorm ${describeWideCall('qb.aiterator(', strategy, bound)}`,
    consumerDelayMs: 0,
    supportsLimit: true,
    checksumOf: wideChecksumOf,
    async prepare(config) {
      const dataSource = new DataSource({
        type: 'postgres',
        url: config.url,
        entities: [WideEventSchema],
        logging: false,
        extra: { max: 2 },
      })
      await dataSource.initialize()
      const query = () => dataSource.getRepository(WideEventSchema).createQueryBuilder('w').orderBy('w.id', 'ASC')
      // Before timing: connect and load one entity, as the `events` modes do.
      await query().limit(1).getMany()
      return {
        async run(sink) {
          const batches = query().aiterator({
            strategy,
            batchYieldSize: config.batchYieldSize,
            ...boundOptions(bound),
            ...(config.limit === undefined ? {} : { limit: config.limit }),
          })
          for await (const batch of batches) await sink(batch)
        },
        close: () => dataSource.destroy(),
      }
    },
  }
}

export const wideTypeormKeyset = typeormWide('keyset', 'default')
export const wideTypeormCursor = typeormWide('cursor', 'default')
export const wideTypeormKeysetUnbounded = typeormWide('keyset', 'unbounded')
export const wideTypeormCursorUnbounded = typeormWide('cursor', 'unbounded')
