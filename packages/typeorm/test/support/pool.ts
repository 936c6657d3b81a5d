import { withConnection } from '@batchyield/test-fixtures'
import type { DataSource } from 'typeorm'
import { expect } from 'vitest'

interface PgPool {
  totalCount: number
  idleCount: number
  waitingCount: number
}

/** The pg pool behind a PostgreSQL data source. */
export function pgPool(ds: DataSource): PgPool {
  return (ds.driver as unknown as { master: PgPool }).master
}

/** Sessions of `database` in a transaction, as pg_stat_activity sees them (from another connection). */
export async function sessionsInTransaction(url: string, database: string): Promise<string[]> {
  return withConnection(url, async (c) => {
    const rows = await c.query<{ state: string }>(
      "SELECT state FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'",
      [database],
    )
    return rows.map((r) => r.state)
  })
}

/**
 * Nothing was left behind: no session of the test's database idle in a transaction, every pooled
 * connection idle, and the pool (of size 1 in the clean-up tests) can run the next query. After an
 * abort the loop exits at once and the source closes when its in-flight query settles, so the
 * state is polled for a bounded time (2 s) rather than read once.
 */
export async function expectCleanPool(ds: DataSource, url: string, database: string): Promise<void> {
  const pool = pgPool(ds)
  const deadline = Date.now() + 2000
  for (;;) {
    const inTransaction = await sessionsInTransaction(url, database)
    const settled = inTransaction.length === 0 && pool.waitingCount === 0 && pool.idleCount === pool.totalCount
    if (settled || Date.now() > deadline) {
      expect(inTransaction).toEqual([])
      expect(pool.waitingCount).toBe(0)
      expect(pool.idleCount).toBe(pool.totalCount)
      break
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  const next = await Promise.race([
    ds.query('SELECT 1 AS one'),
    new Promise((_, reject) =>
      setTimeout(() => reject(new Error('the pool did not hand out a connection within 5 s')), 5000),
    ),
  ])
  expect(next).toEqual([{ one: 1 }])
}

interface MysqlPool {
  _allConnections: { length: number }
  _freeConnections: { length: number }
  _connectionQueue: { length: number }
}

/** Connection counts of the mysql2 pool behind a MariaDB data source. */
export function mysqlPoolCounts(ds: DataSource): { total: number; idle: number; waiting: number } {
  const pool = (ds.driver as unknown as { pool: MysqlPool }).pool
  return {
    total: pool._allConnections.length,
    idle: pool._freeConnections.length,
    waiting: pool._connectionQueue.length,
  }
}

/** MariaDB sessions of `database` with an open InnoDB transaction, seen from another connection. */
export async function mariadbSessionsInTransaction(url: string, database: string): Promise<number[]> {
  return withConnection(url, async (c) => {
    const rows = await c.query<{ id: number }>(
      'SELECT p.ID AS id FROM information_schema.INNODB_TRX t JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id WHERE p.DB = ? AND p.ID <> CONNECTION_ID()',
      [database],
    )
    return rows.map((r) => Number(r.id))
  })
}

/**
 * The MariaDB counterpart of {@link expectCleanPool}: no open transaction, every pooled connection
 * idle, the next query runs. Polled every 150 ms: InnoDB refreshes its INNODB_TRX snapshot only
 * when it was last read more than 100 ms ago, so faster polling would keep reading a stale one.
 */
export async function expectCleanMariadbPool(ds: DataSource, url: string, database: string): Promise<void> {
  const deadline = Date.now() + 3000
  for (;;) {
    const inTransaction = await mariadbSessionsInTransaction(url, database)
    const counts = mysqlPoolCounts(ds)
    if ((inTransaction.length === 0 && counts.waiting === 0 && counts.idle === counts.total) || Date.now() > deadline) {
      expect(inTransaction).toEqual([])
      expect(counts.waiting).toBe(0)
      expect(counts.idle).toBe(counts.total)
      break
    }
    await new Promise((resolve) => setTimeout(resolve, 150))
  }
  const next = await Promise.race([
    ds.query('SELECT 1 AS one'),
    new Promise((_, reject) =>
      setTimeout(() => reject(new Error('the pool did not hand out a connection within 5 s')), 5000),
    ),
  ])
  expect(next).toEqual([{ one: 1 }])
}
