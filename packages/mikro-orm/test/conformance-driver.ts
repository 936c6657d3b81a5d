/**
 * The MikroORM driver of the conformance suite (@batchyield/test-fixtures/conformance): how the
 * suite's scenarios are spelled with an entity manager.
 */
import type { Dialect } from '@batchyield/test-fixtures'
import type { FixtureDriver, FixtureQuery, TypeMatrixDriver } from '@batchyield/test-fixtures/conformance'
import {
  DriverException,
  type EntityClass,
  type EntityManager,
  type EntityMetadata,
  type Options,
  raw,
  wrap,
} from '@mikro-orm/core'
import { MariaDbDriver } from '@mikro-orm/mariadb'
import { PostgreSqlDriver } from '@mikro-orm/postgresql'
import { expect } from 'vitest'
import '../src/index.js'
import {
  InvalidPartitionError,
  InvalidResumeTokenError,
  KeysetOrderingError,
  partitions,
  StrategyUnavailableError,
} from '../src/index.js'
import { createOrm } from './create-orm.js'
import { Author, Book, Country, Device, OrderLine } from './entities.js'
import { MariaDbTypeRow, PgTypeRow } from './matrix-entities.js'
import { identityMapSize, openOrm, pkOf, poolState } from './support.js'

/** The type matrix driver: `em.find` (in a fresh fork) is the reference, `em.aiterator` the subject. */
export function mikroOrmMatrixDriver(dialect: Dialect): TypeMatrixDriver {
  const entity = (dialect === 'postgres' ? PgTypeRow : MariaDbTypeRow) as EntityClass<object>
  return {
    adapter: 'MikroORM',
    dialect,
    KeysetOrderingError,
    // MikroORM 7.0's MySQL platform leaves JSON to mysql2, whose pinned version does not parse MariaDB's (a LONGTEXT)
    jsonHydration: dialect === 'mariadb' && process.env.MIKRO_ORM_LINE === '7.0' ? 'text' : 'parsed',
    async open(url) {
      const options: Partial<Options> = {
        driver: dialect === 'postgres' ? PostgreSqlDriver : MariaDbDriver,
        entities: [entity],
        clientUrl: url,
        pool: { min: 0, max: 3 },
        allowGlobalContext: true,
        ...(dialect === 'mariadb' ? { timezone: 'Z' } : {}),
      }
      const orm = createOrm(options as Options)
      return {
        reference: (property, direction) =>
          orm.em.fork().find(entity, {}, { orderBy: [{ [property]: direction }, { id: direction }] as never }),
        aiterator: (property, direction, options) =>
          orm.em.aiterator(entity, { orderBy: { [property]: direction } as never, ...options }),
        idOf: (entity) => (entity as { id: number }).id,
        plain: (row) =>
          Object.fromEntries(
            orm.getMetadata(entity).props.map((prop) => [prop.name, (row as Record<string, unknown>)[prop.name]]),
          ),
        close: () => orm.close(true),
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

/** The fixture driver: the entities of ./entities.ts, `em.find` in a fresh fork as the reference, `em.aiterator` the subject. */
export function mikroOrmFixtureDriver(dialect: Dialect): FixtureDriver {
  return {
    adapter: 'MikroORM',
    dialect,
    errors: {
      KeysetOrderingError,
      InvalidResumeTokenError,
      StrategyUnavailableError,
      DatabaseError: DriverException,
      InvalidPartitionError,
    },
    partitionMethods: dialect === 'postgres' ? ['sample', 'statistics', 'scan'] : ['scan'],
    async open(url, options = {}) {
      const t = openOrm(dialect, url, options.poolSize === undefined ? {} : { pool: { min: 0, max: options.poolSize } })
      return {
        find: (query) => {
          const { entity, where, orderBy, populate } = spell(t.em, query)
          return t.em.fork().find(entity, where, { orderBy, populate })
        },
        aiterator: (query, runOptions) => {
          const { entity, where, orderBy, populate } = spell(t.em, query)
          return t.em.aiterator(entity, {
            where,
            ...(orderBy ? { orderBy } : {}),
            populate,
            ...runOptions,
          } as never) as AsyncIterableIterator<unknown>
        },
        partitions: (query, count, partitionOptions) => {
          const { entity, where, orderBy } = spell(t.em, query)
          return partitions(t.em, entity, count, { where, ...(orderBy ? { orderBy } : {}), ...partitionOptions })
        },
        keyOf: pkOf,
        valueOf: (entity, column) =>
          (entity as Record<string, unknown>)[
            propertyOf(t.em.getMetadata(entity.constructor as EntityClass<object>), column)
          ],
        plain: (entity) => ({ class: entity.constructor.name, ...(unordered(wrap(entity).toObject()) as object) }),
        statements: () => t.queries.length,
        poolState: async () => (dialect === 'postgres' ? poolState(t.orm) : undefined),
        // each chunk's entities live in a fork of their own: the entity manager the run started from stays empty
        checkAfterRun: () => expect(identityMapSize(t.em)).toBe(0),
        close: () => t.close(),
      }
    },
  }
}

/** A fixture query in MikroORM's terms: the entity, a where and an orderBy over the properties that map the columns. */
function spell(
  em: EntityManager,
  query: FixtureQuery,
): { entity: EntityClass<object>; where: object; orderBy: never; populate: never } {
  const entity = fixtureEntities[query.table] as EntityClass<object>
  const meta = em.getMetadata(entity)
  const property = (column: string): string => propertyOf(meta, column)
  const where: Record<string, unknown> = query.whereIn
    ? { [property(query.whereIn.column)]: { $in: query.whereIn.values } }
    : {}
  if (query.whereExpression) {
    const { sql, op, value } = query.whereExpression
    where[raw(sql) as unknown as string] = op === '=' ? value : { $ne: value }
  }
  const orderBy = query.orderBy?.map((term) => ({
    [property(term.column)]: term.nulls ? `${term.direction} nulls ${term.nulls}` : term.direction,
  }))
  return { entity, where, orderBy: orderBy as never, populate: (query.include ? [query.include] : []) as never }
}

/** The property of `meta` that maps `column` alone. */
function propertyOf(meta: EntityMetadata, column: string): string {
  const found = meta.props.find((prop) => prop.fieldNames?.length === 1 && prop.fieldNames[0] === column)
  if (!found) throw new Error(`no property of ${meta.className} maps the column ${column}`)
  return found.name
}

/** Populated collections in a canonical order: em.find and em.aiterator load them with separate queries, whose row order is the database's. */
function unordered(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unordered).sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : 1))
  if (value !== null && typeof value === 'object' && !(value instanceof Date) && !(value instanceof Uint8Array)) {
    return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, unordered(v)]))
  }
  return value
}

const sortKey = (value: unknown): string =>
  JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))
