import { EventEntity } from '../entities/mikro-orm-event.ts'
import { type Mode, sinkInLists } from './mode.ts'
import { openMikroOrm } from './mikro-orm-connection.ts'

/** MikroORM's own ways of reading a whole table, measured as the alternatives to `em.aiterator`. */

export const mikroFind: Mode = {
  name: 'mikro-find',
  library: 'MikroORM',
  description: 'MikroORM `em.find` of the whole table (one query, every entity in one identity map)',
  consumerDelayMs: 0,
  supportsLimit: true,
  async prepare(config) {
    const orm = await openMikroOrm(config.url)
    return {
      async run(sink) {
        const limit = config.limit === undefined ? {} : { limit: config.limit }
        await sink(await orm.em.fork().find(EventEntity, {}, { orderBy: { id: 'asc' }, ...limit }))
      },
      close: () => orm.close(),
    }
  },
}

export const mikroOffsetFork: Mode = {
  name: 'mikro-offset-fork',
  library: 'MikroORM',
  description: 'MikroORM `limit/offset` loop, pages of chunkSize, a fresh `em.fork()` per page',
  consumerDelayMs: 0,
  supportsLimit: true,
  async prepare(config) {
    const orm = await openMikroOrm(config.url)
    return {
      async run(sink) {
        const total = config.limit ?? Number.POSITIVE_INFINITY
        for (let offset = 0; offset < total; offset += config.chunkSize) {
          const limit = Math.min(config.chunkSize, total - offset)
          const page = await orm.em.fork().find(EventEntity, {}, { orderBy: { id: 'asc' }, limit, offset })
          if (page.length) await sink(page)
          if (page.length < config.chunkSize) break
        }
      },
      close: () => orm.close(),
    }
  },
}

export const mikroStream: Mode = {
  name: 'mikro-stream',
  library: 'MikroORM',
  description:
    'MikroORM `em.stream` (chunkSize as configured): one entity at a time, handed over in lists of batchYieldSize',
  consumerDelayMs: 0,
  supportsLimit: true,
  async prepare(config) {
    const orm = await openMikroOrm(config.url)
    return {
      async run(sink) {
        const limit = config.limit === undefined ? {} : { limit: config.limit }
        const stream = orm.em
          .fork()
          .stream(EventEntity, { orderBy: { id: 'asc' }, chunkSize: config.chunkSize, ...limit })
        await sinkInLists(stream, config.batchYieldSize, sink)
      },
      close: () => orm.close(),
    }
  },
}
