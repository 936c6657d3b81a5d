import type { Dialect } from '@batchyield/test-fixtures'
import type { Direction, TypeMatrixDriver } from '@batchyield/test-fixtures/conformance'
import { DataSource } from 'typeorm'
import { aiterator, KeysetOrderingError } from '../../src/index.js'
import { MariaDbTypeRow, PgTypeRow } from './matrix-entities.js'

// The TypeORM driver of the conformance suite (@batchyield/test-fixtures/conformance): how the
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
        reference: (property, direction) => rows().orderBy(`m.${property}`, order(direction)).addOrderBy('m.id', order(direction)).getMany(),
        aiterator: (property, direction, options) => aiterator(rows().orderBy(`m.${property}`, order(direction)), options),
        idOf: (entity) => (entity as { id: number }).id,
        plain: (entity) => ({ ...entity }),
        close: () => dataSource.destroy(),
      }
    },
  }
}
