import '@batchyield/typeorm'
import { Injectable, Module } from '@nestjs/common'
import { InjectRepository, TypeOrmModule } from '@nestjs/typeorm'
import type { Repository } from 'typeorm'
import { Event } from './event.entity.js'
import { EXPORT_JOB, type ExportJob, type ExportOptions, type ExportReport, LEDGER_TABLE } from './export-job.js'

/**
 * The export job with TypeORM: the injected repository streams every non-test purchase, `batchSize` events
 * at a time, with the find options `repository.find()` would take (`repository.aiterator(findOptions, size)`).
 * Memory stays bounded by the chunk however large the table is; each batch is recorded in the ledger before
 * the next one is read.
 */
@Injectable()
export class TypeormExportJob implements ExportJob {
  constructor(@InjectRepository(Event) private readonly events: Repository<Event>) {}

  async run({ batchSize, chunkSize }: ExportOptions): Promise<ExportReport> {
    const db = this.events.manager
    await db.query(LEDGER_TABLE)
    await db.query('DELETE FROM export_ledger WHERE job = $1', ['typeorm'])
    let rows = 0
    let batches = 0
    const purchases = this.events.aiterator(
      { where: { kind: 'purchase', isTest: false }, order: { id: 'ASC' } },
      batchSize,
      { chunkSize },
    )
    for await (const batch of purchases) {
      batches += 1
      await db.query("INSERT INTO export_ledger (job, event_id, batch_no) SELECT 'typeorm', unnest($1::bigint[]), $2", [
        batch.map((event) => event.id),
        batches,
      ])
      rows += batch.length
    }
    return { job: 'typeorm', rows, batches }
  }
}

@Module({
  imports: [TypeOrmModule.forFeature([Event])],
  providers: [TypeormExportJob, { provide: EXPORT_JOB, useExisting: TypeormExportJob }],
  exports: [EXPORT_JOB],
})
export class TypeormExportModule {}
