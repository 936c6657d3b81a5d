import { type Dialect, listSessions, withConnection } from '@batchyield/test-fixtures'
import { type EntityManager, helper, type MikroORM, type Options, wrap } from '@mikro-orm/core'
import { MariaDbDriver } from '@mikro-orm/mariadb'
import { PostgreSqlDriver } from '@mikro-orm/postgresql'
import { expect } from 'vitest'
import { createOrm } from './create-orm.js'
import { Book, entities } from './entities.js'

export interface TestOrm {
  readonly orm: MikroORM
  readonly em: EntityManager
  /** Every SQL statement MikroORM sent, in order (via the `onQuery` hook). */
  readonly queries: string[]
  close(): Promise<void>
}

/** A MikroORM instance over the fixture schema on `url` (no schema generation: the fixtures made it). */
export function openOrm(dialect: Dialect, url: string, options: Partial<Options> = {}): TestOrm {
  const queries: string[] = []
  const pgPool: { pool?: PgPool } = {}
  const orm = createOrm({
    driver: dialect === 'postgres' ? PostgreSqlDriver : MariaDbDriver,
    entities,
    clientUrl: url,
    pool: { min: 0, max: 2 },
    allowGlobalContext: true,
    onQuery: (sql: string) => {
      queries.push(sql)
      return sql
    },
    ...options,
    ...(dialect === 'postgres' && poolUnreachable()
      ? {
          driverOptions: {
            ...(options.driverOptions as object),
            onPoolCreated: (pool: PgPool) => (pgPool.pool = pool),
          },
        }
      : {}),
  } as Options)
  pgPools.set(orm, pgPool)
  return { orm, em: orm.em, queries, close: () => orm.close(true) }
}

/** What the tests read of node-postgres' pool. */
interface PgPool {
  readonly totalCount: number
  readonly idleCount: number
  readonly waitingCount: number
}

/** The pg pool of each PostgreSQL MikroORM 7.0/7.1 instance openOrm made, once created. */
const pgPools = new WeakMap<MikroORM, { pool?: PgPool }>()

/** MikroORM 7.0 and 7.1 do not hand out their pg pool (getNativeClient() is 7.2's): openOrm keeps it as MikroORM creates it. */
function poolUnreachable(): boolean {
  return process.env.MIKRO_ORM_LINE === '7.0' || process.env.MIKRO_ORM_LINE === '7.1'
}

/** Drains an iterator of batches, keeping the batches. */
export async function collectBatches<T>(iterator: AsyncIterable<T[]>): Promise<T[][]> {
  const batches: T[][] = []
  for await (const batch of iterator) batches.push(batch)
  return batches
}

/** Drains an iterator of single items. */
export async function collect<T>(iterator: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = []
  for await (const item of iterator) items.push(item)
  return items
}

/** A stable key for an entity's primary key (composite keys joined). */
export function pkOf(entity: object): string {
  return JSON.stringify(helper(entity).getPrimaryKey(true))
}

/** Everything about a loaded entity that em.find decides: class, values, snapshot, loaded properties, state flags. */
export function describeEntity(entity: object) {
  const wrapped = helper(entity) as unknown as Record<string, unknown> & { __loadedProperties: Set<string> }
  return {
    class: entity.constructor,
    values: wrap(entity).toObject(),
    ownKeys: Object.keys(entity),
    ownProperties: ownProperties(entity),
    snapshot: wrapped.__originalEntityData,
    loadedProperties: [...wrapped.__loadedProperties].sort(),
    initialized: wrapped.__initialized,
    managed: wrapped.__managed,
    onLoadFired: wrapped.__onLoadFired,
  }
}

/** Every own property of `entity` (non-enumerable ones too), in order, with its attributes and, for a primitive value, that value. */
function ownProperties(entity: object): string[] {
  return Reflect.ownKeys(entity).map((key) => {
    const { value, get, set, ...attributes } = Object.getOwnPropertyDescriptor(entity, key)!
    const shape =
      get !== undefined || set !== undefined
        ? `accessor${get ? ' get' : ''}${set ? ' set' : ''}`
        : typeof value === 'object' && value !== null
          ? `value ${value.constructor.name}`
          : `value ${String(value)}`
    return `${String(key)}: ${shape} ${JSON.stringify(attributes)}`
  })
}

/** `em`'s identity map: every entity (loaded or a reference) by class and primary key. */
export function identityMap(em: EntityManager): string[] {
  return [...em.getUnitOfWork().getIdentityMap()]
    .map(
      (entity) =>
        `${entity.constructor.name}:${JSON.stringify(helper(entity).getPrimaryKey(true))}:${helper(entity).isInitialized()}`,
    )
    .sort()
}

/** Number of entities in `em`'s identity map. */
export function identityMapSize(em: EntityManager): number {
  return [...em.getUnitOfWork().getIdentityMap()].length
}

/**
 * Sessions of the test database that sit idle inside an open transaction, seen from a separate
 * connection (so it works even when the ORM's pool is exhausted). PostgreSQL only.
 */
export async function idleInTransaction(url: string, database: string): Promise<number> {
  return withConnection(url, async (c) => {
    const rows = await c.query<{ n: number }>(
      `select count(*)::int as n from pg_stat_activity where datname = $1 and state like 'idle in transaction%' and pid <> pg_backend_pid()`,
      [database],
    )
    return rows[0]?.n ?? 0
  })
}

/** Rejects when `promise` takes longer than `ms` (a hang becomes a clear failure, not a test timeout). */
export async function within<T>(ms: number, promise: Promise<T>, what = 'operation'): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Waits (bounded) until no session of the database at `url` runs a statement. PostgreSQL only. */
export async function untilNoneActive(url: string): Promise<void> {
  const deadline = Date.now() + 10_000
  while ((await listSessions(url)).some((s) => s.state === 'active') && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 20))
}

/** The pool's next user, on a pool of one: a write to book `id` and a read of what it wrote, in a fresh snapshot. */
export async function nextUserWritesAndReads(orm: TestOrm, id: number): Promise<void> {
  const title = `written at ${Date.now()}`
  const write = () => orm.em.fork().nativeUpdate(Book, { id }, { title })
  expect(await within(10_000, write(), 'a write after the fault')).toBe(1)
  expect((await orm.em.fork().findOneOrFail(Book, id)).title).toBe(title)
}

/** MikroORM 6 runs on Knex (and its pool); 7.x on Kysely over node-postgres' pool. */
export function onKnex(): boolean {
  return process.env.MIKRO_ORM_LINE?.startsWith('6.') === true
}

/** node-postgres client options (`query_timeout`, …) as the line's `driverOptions` take them: MikroORM 6 hands them to Knex, whose `connection` reaches pg. */
export function pgClientOptions(options: Record<string, unknown>): Record<string, unknown> {
  return onKnex() ? { connection: options } : options
}

/** What node-postgres' pool reports: connections open, idle in the pool, and callers waiting for one. */
export interface PoolState {
  readonly total: number
  readonly idle: number
  readonly waiting: number
}

/**
 * The state of the connection pool behind a PostgreSQL MikroORM instance. MikroORM 7 runs on Kysely
 * over a `pg.Pool`: 7.2's `PostgreSqlConnection.getNativeClient()` hands it out, on 7.0 and 7.1 it is
 * the one openOrm kept (none yet: nothing connected). MikroORM 6 runs on Knex, whose pool is tarn's.
 */
export async function poolState(orm: MikroORM): Promise<PoolState> {
  const connection = orm.em.getConnection() as unknown as {
    getNativeClient?(): Promise<PgPool>
    getKnex?(): { client: { pool?: KnexPool } }
  }
  if (typeof connection.getKnex === 'function') {
    const pool = connection.getKnex().client.pool
    if (pool === undefined) return { total: 0, idle: 0, waiting: 0 }
    const idle = pool.numFree()
    return { total: pool.numUsed() + idle, idle, waiting: pool.numPendingAcquires() }
  }
  const pool =
    typeof connection.getNativeClient === 'function' ? await connection.getNativeClient() : pgPools.get(orm)?.pool
  if (pool === undefined) {
    if (!pgPools.has(orm)) throw new Error('poolState on MikroORM 7.0/7.1 needs an instance made by openOrm')
    return { total: 0, idle: 0, waiting: 0 }
  }
  return { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }
}

/** What the tests read of Knex's pool (tarn.js). */
interface KnexPool {
  numUsed(): number
  numFree(): number
  numPendingAcquires(): number
}

/**
 * After a fault or an early exit: waits (bounded) until every connection of the pool is back and
 * idle, then asserts it, and that no session of the test database is left inside a transaction.
 * A leaked connection or an open transaction never settles, so this fails on a leak.
 */
export async function expectSettled(orm: MikroORM, url: string, database: string, waitMs = 3_000): Promise<void> {
  const deadline = Date.now() + waitMs
  let pool = await poolState(orm)
  let idle = await idleInTransaction(url, database)
  while ((pool.idle !== pool.total || pool.waiting !== 0 || idle !== 0) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25))
    pool = await poolState(orm)
    idle = await idleInTransaction(url, database)
  }
  expect({ poolIdle: pool.idle, waiting: pool.waiting, idleInTransaction: idle }).toEqual({
    poolIdle: pool.total,
    waiting: 0,
    idleInTransaction: 0,
  })
}

/**
 * Collects `unhandledRejection` events while a test runs. `stop()` lets pending callbacks and
 * microtasks drain, removes the listener and returns what was caught.
 */
export function trackUnhandledRejections(): { stop(): Promise<unknown[]> } {
  const caught: unknown[] = []
  const listener = (reason: unknown): void => {
    caught.push(reason)
  }
  process.on('unhandledRejection', listener)
  return {
    async stop() {
      // unhandledRejection is emitted after the microtask queue drains; give it a few turns
      for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
      await new Promise((resolve) => setTimeout(resolve, 50))
      process.off('unhandledRejection', listener)
      return caught
    },
  }
}

/**
 * `orderBy` as aiterator sorts: the given terms, the entity's default ordering, then the primary
 * key properties not already ordered by, in the direction of the last term.
 */
export function withTieBreaker(
  orderBy: unknown,
  primaryKeys: readonly string[],
  defaultOrderBy?: unknown,
): Record<string, unknown>[] {
  const asList = (o: unknown): Record<string, unknown>[] =>
    o === undefined ? [] : Array.isArray(o) ? [...o] : [o as Record<string, unknown>]
  const order = [...asList(orderBy), ...asList(defaultOrderBy)]
  let last: unknown = order.at(-1)
  while (last !== null && typeof last === 'object') last = Object.values(last).at(-1)
  const direction = last === -1 || (typeof last === 'string' && last.toLowerCase().startsWith('desc')) ? 'desc' : 'asc'
  const ordered = new Set(order.flatMap((o) => Object.keys(o)))
  for (const pk of primaryKeys) if (!ordered.has(pk)) order.push({ [pk]: direction })
  return order
}
