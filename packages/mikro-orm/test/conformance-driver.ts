/**
 * The MikroORM driver of the conformance suite (@batchyield/test-fixtures/conformance): how the
 * suite's scenarios are spelled with an entity manager.
 */
import type { Dialect } from '@batchyield/test-fixtures'
import type { TypeMatrixDriver } from '@batchyield/test-fixtures/conformance'
import { type EntityClass, MikroORM, type Options } from '@mikro-orm/core'
import { MariaDbDriver } from '@mikro-orm/mariadb'
import { PostgreSqlDriver } from '@mikro-orm/postgresql'
import '../src/index.js'
import { KeysetOrderingError } from '../src/index.js'
import { MariaDbTypeRow, PgTypeRow } from './matrix-entities.js'

/** The type matrix driver: `em.find` (in a fresh fork) is the reference, `em.aiterator` the subject. */
export function mikroOrmMatrixDriver(dialect: Dialect): TypeMatrixDriver {
  const entity = (dialect === 'postgres' ? PgTypeRow : MariaDbTypeRow) as EntityClass<object>
  return {
    adapter: 'MikroORM',
    dialect,
    KeysetOrderingError,
    async open(url) {
      const options: Partial<Options> = {
        driver: dialect === 'postgres' ? PostgreSqlDriver : MariaDbDriver,
        entities: [entity],
        clientUrl: url,
        pool: { min: 0, max: 3 },
        allowGlobalContext: true,
        ...(dialect === 'mariadb' ? { timezone: 'Z' } : {}),
      }
      const orm = new MikroORM(options as Options)
      return {
        reference: (property, direction) => orm.em.fork().find(entity, {}, { orderBy: [{ [property]: direction }, { id: direction }] as never }),
        aiterator: (property, direction, options) => orm.em.aiterator(entity, { orderBy: { [property]: direction } as never, ...options }),
        idOf: (entity) => (entity as { id: number }).id,
        plain: (row) => Object.fromEntries(orm.getMetadata(entity).props.map((prop) => [prop.name, (row as Record<string, unknown>)[prop.name]])),
        close: () => orm.close(true),
      }
    },
  }
}
