import '@batchyield/typeorm'
import type { Mode } from './mode.ts'
import { eventsQuery, openTypeormDataSource } from './typeorm-connection.ts'

/** `qb.aiterator()` from @batchyield/typeorm with one strategy, read-ahead and consumer speed. */
function typeormAiterator(strategy: 'keyset' | 'cursor', prefetch: 0 | 1, consumerDelayMs = 0): Mode {
  const slow = consumerDelayMs > 0
  return {
    name: slow ? `slow-typeorm-${strategy}-p${prefetch}` : `typeorm-aiterator-${strategy}-p${prefetch}`,
    library: 'TypeORM',
    description: `@batchyield/typeorm \`qb.aiterator({ strategy: '${strategy}', prefetch: ${prefetch} })\`, batches of batchYieldSize${slow ? `, consumer awaits ${consumerDelayMs} ms per batch` : ''}`,
    consumerDelayMs,
    supportsLimit: true,
    async prepare(config) {
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
        close: () => dataSource.destroy(),
      }
    },
  }
}

export const typeormKeysetP0 = typeormAiterator('keyset', 0)
export const typeormKeysetP1 = typeormAiterator('keyset', 1)
export const typeormCursorP0 = typeormAiterator('cursor', 0)
export const typeormCursorP1 = typeormAiterator('cursor', 1)
export const slowTypeormKeysetP0 = typeormAiterator('keyset', 0, 5)
export const slowTypeormKeysetP1 = typeormAiterator('keyset', 1, 5)
