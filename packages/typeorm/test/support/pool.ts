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
 * connection idle, and the pool (of size 1 in the clean-up tests) can run the next query.
 */
export async function expectCleanPool(ds: DataSource, url: string, database: string): Promise<void> {
  expect(await sessionsInTransaction(url, database)).toEqual([])
  const pool = pgPool(ds)
  expect(pool.waitingCount).toBe(0)
  expect(pool.idleCount).toBe(pool.totalCount)
  const next = await Promise.race([
    ds.query('SELECT 1 AS one'),
    new Promise((_, reject) => setTimeout(() => reject(new Error('the pool did not hand out a connection within 5 s')), 5000)),
  ])
  expect(next).toEqual([{ one: 1 }])
}
