/**
 * A NestJS batch job: an application context (no HTTP server) whose export job streams every non-test
 * purchase event in batches, with TypeORM (an injected repository) or MikroORM (an injected EntityManager).
 *
 *   npm run nestjs -w examples -- --orm typeorm --url postgres://…/batchyield_demo [--batch-size 500] [--chunk-size 2000]
 *
 * `--url` defaults to DATABASE_URL; the database must hold the fixture table `events` (the other examples
 * create and seed `batchyield_demo` on the DATABASE_URL server).
 */
import 'reflect-metadata'
import { NestFactory } from '@nestjs/core'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { type ExportAppOptions, ExportAppModule } from './app.module.js'
import { EXPORT_JOB, type ExportJob, type ExportOptions, type ExportReport } from './export-job.js'

/** Boots the Nest application for `options.orm`, runs its export job once, and closes the application. */
export async function runExport(options: ExportAppOptions & ExportOptions): Promise<ExportReport> {
  const app = await NestFactory.createApplicationContext(ExportAppModule.forRoot(options), {
    logger: ['error', 'warn'],
  })
  try {
    return await app.get<ExportJob>(EXPORT_JOB).run(options)
  } finally {
    await app.close()
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      orm: { type: 'string', default: 'typeorm' },
      url: { type: 'string' },
      'batch-size': { type: 'string', default: '500' },
      'chunk-size': { type: 'string', default: '2000' },
    },
    strict: true,
  })
  const url = values.url ?? process.env.DATABASE_URL
  if (url === undefined)
    throw new TypeError('give --url postgres://… (or set DATABASE_URL): a database holding the fixture table events')
  if (values.orm !== 'typeorm' && values.orm !== 'mikro-orm')
    throw new TypeError(`--orm must be typeorm or mikro-orm, received ${JSON.stringify(values.orm)}`)
  const report = await runExport({
    orm: values.orm,
    url,
    batchSize: Number(values['batch-size']),
    chunkSize: Number(values['chunk-size']),
  })
  console.log(`${report.job}: exported ${report.rows} events in ${report.batches} batches`)
}
