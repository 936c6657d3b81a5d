import { once } from 'node:events'
import { createWriteStream } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { type ExportFormat, formatBatch } from './export-format.ts'
import { trackPeakRss } from './memory.ts'
import { createProgressDisplay } from './progress-bar.ts'

/** The columns of the exported `events` rows, as entity property names. */
export const eventColumns = [
  'id',
  'occurredAt',
  'kind',
  'userId',
  'sessionId',
  'source',
  'country',
  'amount',
  'quantity',
  'isTest',
  'tags',
  'payload',
] as const

export interface ExportJobOptions {
  url: string
  file: string
  format: ExportFormat
  batchYieldSize: number
  chunkSize: number
  /** Expected row count, for the progress bar's percentage and ETA. */
  total?: number
}

export interface ExportJobSummary {
  adapter: string
  file: string
  rows: number
  batches: number
  wallMs: number
  /** Sampled peak RSS of this process during the job (in the embedded case that includes PGlite). */
  peakRssBytes: number
  /** RSS when the job started: the peak minus this is what the job itself added. */
  startRssBytes: number
}

/** Writes every batch to the file, waiting for the file stream to drain when its buffer is full. */
async function writeBatches(
  adapter: string,
  options: ExportJobOptions,
  batches: AsyncIterable<object[]>,
): Promise<ExportJobSummary> {
  const out = createWriteStream(options.file)
  const progress = createProgressDisplay({
    label: adapter,
    ...(options.total === undefined ? {} : { total: options.total }),
  })
  const startRssBytes = process.memoryUsage.rss()
  const peak = trackPeakRss()
  const started = performance.now()
  let rows = 0
  let count = 0
  try {
    for await (const batch of batches) {
      if (!out.write(formatBatch(options.format, batch, count === 0, eventColumns))) await once(out, 'drain')
      rows += batch.length
      count += 1
      progress.update(rows, count)
    }
  } finally {
    out.end()
    await once(out, 'close')
  }
  const wallMs = performance.now() - started
  progress.finish(rows, count)
  return {
    adapter,
    file: options.file,
    rows,
    batches: count,
    wallMs,
    peakRssBytes: peak.stop().sampledPeakBytes,
    startRssBytes,
  }
}

/** Exports `events` with TypeORM: `createQueryBuilder('e').aiterator(...)`, primary-key order (keyset). */
export async function exportWithTypeorm(options: ExportJobOptions): Promise<ExportJobSummary> {
  await import('@batchyield/typeorm')
  const { DataSource } = await import('typeorm')
  const { EventSchema } = await import('./entities/typeorm-event.ts')
  const dataSource = new DataSource({ type: 'postgres', url: options.url, entities: [EventSchema], extra: { max: 2 } })
  await dataSource.initialize()
  try {
    const batches = dataSource
      .getRepository(EventSchema)
      .createQueryBuilder('e')
      .aiterator({ batchYieldSize: options.batchYieldSize, chunkSize: options.chunkSize })
    return await writeBatches('TypeORM  ', options, batches)
  } finally {
    await dataSource.destroy()
  }
}

/** Exports `events` with MikroORM: `em.aiterator(Event, ...)`, primary-key order (keyset), a fork per chunk. */
export async function exportWithMikroOrm(options: ExportJobOptions): Promise<ExportJobSummary> {
  await import('@batchyield/mikro-orm')
  const { MikroORM } = await import('@mikro-orm/postgresql')
  const { EventEntity } = await import('./entities/mikro-orm-event.ts')
  const orm = await MikroORM.init({ clientUrl: options.url, entities: [EventEntity], pool: { min: 1, max: 2 } })
  try {
    const batches = orm.em
      .fork()
      .aiterator(EventEntity, { batchYieldSize: options.batchYieldSize, chunkSize: options.chunkSize })
    return await writeBatches('MikroORM ', options, batches)
  } finally {
    await orm.close()
  }
}
