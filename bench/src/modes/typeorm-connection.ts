import 'reflect-metadata'
import { DataSource } from 'typeorm'
import { EventSchema } from '../entities/typeorm-event.ts'
import type { BenchPoolOptions } from './mode.ts'

/** An initialized TypeORM DataSource on the bench database, with the `events` entity only. */
export async function openTypeormDataSource(url: string, pool: BenchPoolOptions = {}): Promise<DataSource> {
  const extra = {
    max: pool.max ?? 2,
    ...(pool.applicationName === undefined ? {} : { application_name: pool.applicationName }),
  }
  const dataSource = new DataSource({ type: 'postgres', url, entities: [EventSchema], logging: false, extra })
  await dataSource.initialize()
  // Before timing: open the pool's connection and load one entity, so the first query's one-off costs
  // (connecting, compiling TypeORM's query and hydration code) are charged to no mode.
  await dataSource.getRepository(EventSchema).createQueryBuilder('e').orderBy('e.id', 'ASC').limit(1).getMany()
  return dataSource
}

/** The query every TypeORM mode reads: the whole table in primary-key order. */
export function eventsQuery(dataSource: DataSource) {
  return dataSource.getRepository(EventSchema).createQueryBuilder('e').orderBy('e.id', 'ASC')
}
