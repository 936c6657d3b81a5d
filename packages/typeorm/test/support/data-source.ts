import type { Dialect } from '@batchyield/test-fixtures'
import { DataSource, type Logger } from 'typeorm'
import { entities } from './entities.js'

/** Counts the SQL statements a data source sends (to prove that bad input sends none). */
export class QueryCounter implements Logger {
  queries: string[] = []
  logQuery(query: string): void {
    this.queries.push(query)
  }
  logQueryError(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}
}

export interface OpenOptions {
  poolSize?: number
  logger?: Logger
  /** PostgreSQL: how long to wait for a pooled connection before failing (TypeORM's connectTimeoutMS; default: forever). */
  connectTimeoutMS?: number
}

/** A TypeORM data source on a test database, with the test entities. */
export async function openDataSource(dialect: Dialect, url: string, options: OpenOptions = {}): Promise<DataSource> {
  const dataSource = new DataSource({
    type: dialect === 'postgres' ? 'postgres' : 'mariadb',
    url,
    entities,
    synchronize: false,
    poolSize: options.poolSize ?? 5,
    ...(options.connectTimeoutMS === undefined ? {} : { connectTimeoutMS: options.connectTimeoutMS }),
    ...(options.logger ? { logger: options.logger, logging: true } : { logging: false }),
  })
  return dataSource.initialize()
}
