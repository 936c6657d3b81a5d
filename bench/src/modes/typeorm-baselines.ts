import { type Mode, sinkInLists } from './mode.ts'
import { eventsQuery, openTypeormDataSource } from './typeorm-connection.ts'

/** TypeORM's own ways of reading a whole table, measured as the alternatives to `aiterator`. */

export const typeormGetMany: Mode = {
  name: 'typeorm-getmany',
  library: 'TypeORM',
  description: 'TypeORM `getMany()` of the whole table (one query, every entity in memory at once)',
  consumerDelayMs: 0,
  supportsLimit: true,
  async prepare(config) {
    const dataSource = await openTypeormDataSource(config.url)
    return {
      async run(sink) {
        const query = eventsQuery(dataSource)
        if (config.limit !== undefined) query.take(config.limit)
        await sink(await query.getMany())
      },
      close: () => dataSource.destroy(),
    }
  },
}

export const typeormSkipTake: Mode = {
  name: 'typeorm-skip-take',
  library: 'TypeORM',
  description: 'TypeORM `skip/take` offset loop, pages of chunkSize, `getMany()` per page',
  consumerDelayMs: 0,
  supportsLimit: true,
  async prepare(config) {
    const dataSource = await openTypeormDataSource(config.url)
    return {
      async run(sink) {
        const total = config.limit ?? Number.POSITIVE_INFINITY
        for (let offset = 0; offset < total; offset += config.chunkSize) {
          const page = await eventsQuery(dataSource)
            .skip(offset)
            .take(Math.min(config.chunkSize, total - offset))
            .getMany()
          if (page.length) await sink(page)
          if (page.length < config.chunkSize) break
        }
      },
      close: () => dataSource.destroy(),
    }
  },
}

export const typeormStream: Mode = {
  name: 'typeorm-stream',
  library: 'TypeORM',
  description: 'TypeORM `stream()` (pg-query-stream): raw rows, not entities, handed over in lists of batchYieldSize',
  consumerDelayMs: 0,
  supportsLimit: true,
  async prepare(config) {
    const dataSource = await openTypeormDataSource(config.url)
    return {
      async run(sink) {
        const query = eventsQuery(dataSource)
        if (config.limit !== undefined) query.limit(config.limit)
        const stream = await query.stream()
        await sinkInLists(stream as AsyncIterable<object>, config.batchYieldSize, sink)
      },
      close: () => dataSource.destroy(),
    }
  },
}
