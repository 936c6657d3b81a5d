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
    new Promise((_, reject) => setTimeout(() => reject(new Error('the pool did not hand out a connection within 5 s')), 5000)),
  ])
  expect(next).toEqual([{ one: 1 }])
}
