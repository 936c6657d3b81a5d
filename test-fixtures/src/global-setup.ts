import { dialects } from '#src/dialect'
import { assertDatabasesReachable } from '#src/reachability'
import { dropStaleTestDatabases } from '#src/test-database'

/**
 * vitest `globalSetup`: fails the whole run at once, with the URL it tried and how to start a server, when
 * PostgreSQL (`DATABASE_URL`) or MariaDB (`MARIADB_URL`) does not answer within 3 s; never skips. Then drops
 * `by_…` test databases that crashed runs left behind more than two hours ago.
 *
 * @example
 * ```ts
 * // vitest.config.ts
 * export default defineConfig({ test: { globalSetup: ['@batchyield/test-fixtures/global-setup'] } })
 * ```
 */
export default async function setup(): Promise<void> {
  await assertDatabasesReachable()
  for (const dialect of dialects) await dropStaleTestDatabases(dialect)
}
