import type { Dialect } from '@batchyield/test-fixtures'
import type { Direction, FixtureDriver, FixtureQuery, TypeMatrixDriver } from '@batchyield/test-fixtures/conformance'
import { DataSource, type ObjectLiteral, QueryFailedError, type SelectQueryBuilder } from 'typeorm'
import {
  aiterator,
  InvalidPartitionError,
  InvalidResumeTokenError,
  KeysetOrderingError,
  partitions,
  StrategyUnavailableError,
  type TypeormBatchOptions,
} from '../../src/index.js'
import { openDataSource, QueryCounter } from './data-source.js'
import { Author, Book, Country, Device, OrderLine } from './entities.js'
import { MariaDbTypeRow, PgTypeRow } from './matrix-entities.js'
import { mysqlPoolCounts, pgPool } from './pool.js'

// The TypeORM drivers of the conformance suite (@batchyield/test-fixtures/conformance): how the
// suite's scenarios are spelled with a query builder.

const order = (direction: Direction) => (direction === 'asc' ? 'ASC' : 'DESC')

/** The type matrix driver: `getMany()` is the reference, `aiterator(qb, options)` the subject. */
export function typeormMatrixDriver(dialect: Dialect): TypeMatrixDriver {
  const entity = dialect === 'postgres' ? PgTypeRow : MariaDbTypeRow
  return {
    adapter: 'TypeORM',
    dialect,
    KeysetOrderingError,
    async open(url) {
      const dataSource = await new DataSource({
        type: dialect === 'postgres' ? 'postgres' : 'mariadb',
        url,
        entities: [entity],
        synchronize: false,
        poolSize: 3,
        logging: false,
        ...(dialect === 'mariadb' ? { timezone: 'Z' } : {}),
      }).initialize()
      const rows = () => dataSource.getRepository<object>(entity).createQueryBuilder('m')
      return {
        reference: (property, direction) =>
          rows().orderBy(`m.${property}`, order(direction)).addOrderBy('m.id', order(direction)).getMany(),
        aiterator: (property, direction, options) =>
          aiterator(rows().orderBy(`m.${property}`, order(direction)), options),
        idOf: (entity) => (entity as { id: number }).id,
        plain: (entity) => ({ ...entity }),
        close: () => dataSource.destroy(),
      }
    },
  }
}

const fixtureEntities = {
  books: Book,
  authors: Author,
  countries: Country,
  devices: Device,
  order_lines: OrderLine,
} as const

/** The fixture driver: the test entities of ./entities.ts, queries as query builders over the root alias `r`. */
export function typeormFixtureDriver(dialect: Dialect): FixtureDriver {
  return {
    adapter: 'TypeORM',
    dialect,
    errors: {
      KeysetOrderingError,
      InvalidResumeTokenError,
      StrategyUnavailableError,
      DatabaseError: QueryFailedError,
      InvalidPartitionError,
    },
    partitionMethods: dialect === 'postgres' ? ['sample', 'statistics', 'scan'] : ['scan'],
    async open(url, options = {}) {
      const counter = new QueryCounter()
      const dataSource = await openDataSource(dialect, url, {
        logger: counter,
        ...(options.poolSize === undefined ? {} : { poolSize: options.poolSize }),
      })
      /** `forGetMany`: MariaDB cannot parse NULLS FIRST/LAST, so getMany() gets the placement MariaDB has anyway (NULLs first for ASC, last for DESC) unwritten. */
      const build = (query: FixtureQuery, forGetMany = false): SelectQueryBuilder<ObjectLiteral> => {
        const entity = fixtureEntities[query.table]
        const metadata = dataSource.getMetadata(entity)
        const property = (column: string) => {
          const found = metadata.findColumnWithDatabaseName(column)
          if (!found) throw new Error(`no property of ${metadata.name} maps the column ${column}`)
          return `r.${found.propertyPath}`
        }
        const qb = dataSource.getRepository<ObjectLiteral>(entity).createQueryBuilder('r')
        if (query.include) qb.leftJoinAndSelect(`r.${query.include}`, 'c')
        if (query.whereExpression)
          qb.andWhere(`${query.whereExpression.sql} ${query.whereExpression.op} :value`, {
            value: query.whereExpression.value,
          })
        if (query.whereIn)
          qb.andWhere(`${property(query.whereIn.column)} IN (:...values)`, { values: query.whereIn.values })
        for (const term of query.orderBy ?? []) {
          const natural = (term.direction === 'asc') === (term.nulls === 'first')
          const written = term.nulls !== undefined && !(forGetMany && dialect === 'mariadb' && natural)
          const nulls = !written ? undefined : term.nulls === 'first' ? 'NULLS FIRST' : 'NULLS LAST'
          qb.addOrderBy(property(term.column), order(term.direction), nulls)
        }
        if (query.include === 'books' || query.include === 'tags') qb.addOrderBy('c.id', 'ASC') // the children, after the root's order
        return qb
      }
      return {
        find: (query) => build(query, true).getMany(),
        aiterator: (query, runOptions) =>
          aiterator(build(query), runOptions as TypeormBatchOptions) as AsyncIterableIterator<unknown>,
        partitions: (query, count, partitionOptions) => partitions(build(query), count, partitionOptions),
        keyOf: (entity) =>
          JSON.stringify(
            dataSource.getMetadata(entity.constructor).primaryColumns.map((column) => column.getEntityValue(entity)),
          ),
        valueOf: (entity, column) => {
          const found = dataSource.getMetadata(entity.constructor).findColumnWithDatabaseName(column)
          if (!found) throw new Error(`no property of ${entity.constructor.name} maps the column ${column}`)
          return found.getEntityValue(entity)
        },
        plain: (entity) => ({ class: entity.constructor.name, ...entity }),
        statements: () => counter.queries.length,
        poolState: async () => {
          if (dialect === 'mariadb') return mysqlPoolCounts(dataSource)
          const pool = pgPool(dataSource)
          return { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }
        },
        close: () => dataSource.destroy(),
      }
    },
  }
}
