import '@batchyield/mikro-orm'
import { MikroOrmModule } from '@mikro-orm/nestjs'
import { EntityManager } from '@mikro-orm/postgresql'
import { Injectable, Module } from '@nestjs/common'
import { EventEntity } from './event.entity.js'
import { EXPORT_JOB, type ExportJob, type ExportOptions, type ExportReport, LEDGER_TABLE } from './export-job.js'

/**
 * The export job with MikroORM: the injected EntityManager builds the query with the query builder and
 * streams it with `qb.aiterator(size)` (`em.aiterator(EventEntity, { where, batchYieldSize })` reads the same).
 * Each chunk is loaded into a fork of its own, so the injected EntityManager's identity map stays empty.
 */
@Injectable()
export class MikroOrmExportJob implements ExportJob {
  constructor(private readonly em: EntityManager) {}

  async run({ batchSize, chunkSize }: ExportOptions): Promise<ExportReport> {
    const connection = this.em.getConnection()
    await connection.execute(LEDGER_TABLE)
    await connection.execute('delete from export_ledger where job = ?', ['mikro-orm'])
    let rows = 0
    let batches = 0
    const purchases = this.em
      .createQueryBuilder(EventEntity, 'e')
      .select('*')
      .where({ kind: 'purchase', isTest: false })
      .orderBy({ id: 'asc' })
    for await (const batch of purchases.aiterator(batchSize, { chunkSize })) {
      batches += 1
      // MikroORM expands an array parameter into a list, so the ids go as one PostgreSQL array literal
      await connection.execute(
        "insert into export_ledger (job, event_id, batch_no) select 'mikro-orm', unnest(?::bigint[]), ?",
        [`{${batch.map((event) => event.id).join(',')}}`, batches],
      )
      rows += batch.length
    }
    return { job: 'mikro-orm', rows, batches }
  }
}

@Module({
  imports: [MikroOrmModule.forFeature([EventEntity])],
  providers: [MikroOrmExportJob, { provide: EXPORT_JOB, useExisting: MikroOrmExportJob }],
  exports: [EXPORT_JOB],
})
export class MikroOrmExportModule {}
