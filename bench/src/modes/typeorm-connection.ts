import 'reflect-metadata'
import { DataSource } from 'typeorm'
import { EventSchema } from '../entities/typeorm-event.ts'

/** An initialized TypeORM DataSource on the bench database, with the `events` entity only. */
export async function openTypeormDataSource(url: string): Promise<DataSource> {
  const dataSource = new DataSource({ type: 'postgres', url, entities: [EventSchema], logging: false, extra: { max: 2 } })
  await dataSource.initialize()
  // One query before timing, so the pool's first connection is not charged to the job.
  await dataSource.query('SELECT 1')
  return dataSource
}

/** The query every TypeORM mode reads: the whole table in primary-key order. */
export function eventsQuery(dataSource: DataSource) {
  return dataSource.getRepository(EventSchema).createQueryBuilder('e').orderBy('e.id', 'ASC')
}
