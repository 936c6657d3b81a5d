import { randomBytes } from 'node:crypto'
import { connect, type FixtureConnection } from '#src/connection'
import { databaseUrls, type Dialect, dialectOf, dialects, redactUrl, withDatabaseName } from '#src/dialect'
import { schemaStatements } from '#src/schema'

/** A database made for one test file. `drop()` (or `await using`) removes it. */
export interface TestDatabase extends AsyncDisposable {
  /** URL of the new database on the same server, e.g. `postgres://postgres@127.0.0.1:5432/by_m3x9k2a1_4242_9f3c01ab`. */
  readonly url: string
  /** The database's name (`by_<base36 ms>_<pid>_<random hex>`). */
  readonly name: string
  readonly dialect: Dialect
  /**
   * Ends every session still connected to the database and drops it. Safe to call more than once.
   * `timeoutMs` overrides `dropTimeoutMs` for this call.
   */
  drop(options?: { timeoutMs?: number }): Promise<void>
}

/** Options for {@link createTestDatabase}. */
export interface CreateTestDatabaseOptions {
  dialect: Dialect
  /** The server to create it on: any database URL on that server. Default `databaseUrls[dialect]`. */
  serverUrl?: string
  /** Apply the fixture schema (default true). With false the database is empty, e.g. for ORM `synchronize`. */
  schema?: boolean
  /**
   * How long `drop()` may wait for locks (and, on PostgreSQL, for every backend to acknowledge the drop) before
   * it fails with a diagnosis naming the long-running backends. Default 30 000 ms, below vitest hook timeouts.
   */
  dropTimeoutMs?: number
}

const defaultDropTimeoutMs = 30_000

/** Prefix of every database {@link createTestDatabase} makes; leftovers are recognised by it. */
export const testDatabasePrefix = 'by_'

const testDatabaseName = /^by_([0-9a-z]+)_(\d+)_([0-9a-f]+)$/

/**
 * Creates a uniquely named database (`by_…`) on the server of `DATABASE_URL` / `MARIADB_URL`, with the
 * fixture schema applied, so test files can run in parallel without seeing each other's rows. Text compares
 * byte-wise in it (PostgreSQL `LC_COLLATE 'C'`, MariaDB `utf8mb4_bin`), so both dialects order strings alike.
 *
 * @example
 * ```ts
 * const db = await createTestDatabase({ dialect: 'postgres' })
 * try {
 *   await seed(db.url)
 *   // … run the code under test against db.url
 * } finally {
 *   await db.drop()
 * }
 * ```
 */
export async function createTestDatabase(options: CreateTestDatabaseOptions): Promise<TestDatabase> {
  const { dialect } = options
  if (!dialects.includes(dialect)) {
    throw new TypeError(
      `dialect must be one of ${dialects.map((d) => `'${d}'`).join(', ')}, received ${JSON.stringify(dialect)}`,
    )
  }
  const dropTimeoutMs = checkedDropTimeout('dropTimeoutMs', options.dropTimeoutMs ?? defaultDropTimeoutMs)
  const serverUrl = options.serverUrl ?? databaseUrls[dialect]
  if (dialectOf(serverUrl) !== dialect) {
    throw new TypeError(`serverUrl ${redactUrl(serverUrl)} is not a ${dialect} URL (dialect: '${dialect}')`)
  }
  const name = newDatabaseName()
  const url = withDatabaseName(serverUrl, name)

  await withServer(serverUrl, async (server) => {
    if (dialect === 'postgres') {
      // template0 lets us choose the collation; "C" orders text by bytes, like utf8mb4_bin on MariaDB.
      await server.query(
        `CREATE DATABASE ${quoteIdentifier(dialect, name)} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`,
      )
      // A query whose test process died keeps running until it next writes to the socket, and a long one holds
      // up every DROP DATABASE on the server: have backends check for a vanished client every second instead.
      await server
        .query(`ALTER DATABASE ${quoteIdentifier(dialect, name)} SET client_connection_check_interval = '1s'`)
        .catch(() => {}) // PostgreSQL < 14 or a platform without the check: nothing to gain, nothing lost
    } else {
      await server.query(`CREATE DATABASE ${quoteIdentifier(dialect, name)} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`)
    }
  })

  let dropping: Promise<void> | undefined
  const drop = async (dropOptions?: { timeoutMs?: number }): Promise<void> => {
    const timeoutMs = checkedDropTimeout('timeoutMs', dropOptions?.timeoutMs ?? dropTimeoutMs)
    await (dropping ??= dropDatabase(serverUrl, dialect, name, timeoutMs).catch((error: unknown) => {
      dropping = undefined // let a later call try again
      throw error
    }))
  }
  if (options.schema ?? true) {
    try {
      await using database = await connect(url)
      for (const statement of schemaStatements(dialect)) await database.query(statement)
    } catch (error) {
      await drop().catch(() => {})
      throw error
    }
  }
  return { url, name, dialect, drop, [Symbol.asyncDispose]: () => drop() }
}

function checkedDropTimeout(option: string, value: unknown): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1) {
    throw new RangeError(`${option} must be a positive integer (milliseconds), received ${String(value)}`)
  }
  return value as number
}

/**
 * Drops `by_…` databases left behind by crashed runs, judged by the creation time in their name: only those
 * older than `olderThanMs` (default two hours, far longer than any test run), so parallel runs are safe.
 * Returns the names it dropped.
 */
export async function dropStaleTestDatabases(
  dialect: Dialect,
  options: { serverUrl?: string; olderThanMs?: number; now?: number } = {},
): Promise<string[]> {
  const serverUrl = options.serverUrl ?? databaseUrls[dialect]
  const cutoff = (options.now ?? Date.now()) - (options.olderThanMs ?? 2 * 3_600_000)
  const names = await withServer(serverUrl, async (server) => {
    const rows =
      dialect === 'postgres'
        ? await server.query<{ name: string }>('SELECT datname AS name FROM pg_database WHERE datname LIKE $1', [
            'by\\_%',
          ])
        : await server.query<{ name: string }>(
            'SELECT schema_name AS name FROM information_schema.schemata WHERE schema_name LIKE ?',
            ['by\\_%'],
          )
    return rows.map((row) => row.name)
  })
  const stale = names.filter((name) => {
    const created = testDatabaseName.exec(name)?.[1]
    return created !== undefined && Number.parseInt(created, 36) < cutoff
  })
  for (const name of stale) await dropDatabase(serverUrl, dialect, name)
  return stale
}

function newDatabaseName(): string {
  return `${testDatabasePrefix}${Date.now().toString(36)}_${process.pid}_${randomBytes(4).toString('hex')}`
}

async function dropDatabase(
  serverUrl: string,
  dialect: Dialect,
  name: string,
  timeoutMs = defaultDropTimeoutMs,
): Promise<void> {
  if (!testDatabaseName.test(name))
    throw new Error(`Refusing to drop ${JSON.stringify(name)}: not a test database name`)
  await withServer(serverUrl, async (server) => {
    if (dialect === 'postgres') {
      await dropPostgresDatabase(server, name, timeoutMs)
      return
    }
    // MariaDB has no FORCE: end the sessions using the database first, or DROP waits on their metadata locks.
    const sessions = await server.query<{ id: number }>(
      'SELECT id FROM information_schema.processlist WHERE db = ? AND id <> connection_id()',
      [name],
    )
    for (const { id } of sessions) {
      await server.query('KILL CONNECTION ?', [id]).catch(() => {}) // it may have ended on its own meanwhile
    }
    // A session elsewhere holding a lock on one of its tables would make DROP wait for a day by default.
    await server.query('SET SESSION lock_wait_timeout = CAST(? AS UNSIGNED)', [
      Math.max(1, Math.ceil(timeoutMs / 1000)),
    ])
    try {
      await server.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(dialect, name)}`)
    } catch (error) {
      if ((error as { errno?: unknown }).errno !== 1205) throw error
      throw new Error(
        `Could not drop test database ${name} within ${timeoutMs} ms: a session connected to another database ` +
          'holds a lock on one of its tables (an open transaction that read or wrote it).',
        { cause: error },
      )
    }
  })
}

async function dropPostgresDatabase(server: FixtureConnection, name: string, timeoutMs: number): Promise<void> {
  // DROP DATABASE waits until every backend of the whole server has acknowledged it (a ProcSignalBarrier);
  // one runaway query anywhere would make it wait forever. Bound the wait and say who is holding it up.
  await server.query("SELECT set_config('statement_timeout', $1, false)", [`${timeoutMs}ms`])
  try {
    await server.query(`DROP DATABASE IF EXISTS ${quoteIdentifier('postgres', name)} WITH (FORCE)`)
  } catch (error) {
    if ((error as { code?: unknown }).code !== '57014') throw error
    const blockers = await server.query<{
      pid: number
      datname: string | null
      backend_type: string
      seconds: number
      query: string
    }>(
      `SELECT pid, datname, backend_type, extract(epoch FROM now() - query_start)::int AS seconds, left(query, 160) AS query
       FROM pg_stat_activity
       WHERE state = 'active' AND pid <> pg_backend_pid() AND query_start < now() - make_interval(secs => $1)
       ORDER BY query_start`,
      [timeoutMs / 1000],
    )
    const list = blockers
      .map(
        (b) => `  pid ${b.pid} (${b.backend_type}, database ${b.datname ?? '-'}, running ${b.seconds} s): ${b.query}`,
      )
      .join('\n')
    throw new Error(
      `Could not drop test database ${name} within ${timeoutMs} ms. PostgreSQL's DROP DATABASE waits for a lock ` +
        `on the database and for every backend on the server to acknowledge it: a transaction holding the lock, ` +
        `or a long-running query that does not check for interrupts, holds it up.` +
        (list ? ` Backends active for longer than that:\n${list}` : ''),
      { cause: error },
    )
  }
}

async function withServer<T>(serverUrl: string, work: (server: FixtureConnection) => Promise<T>): Promise<T> {
  // Connect to the maintenance database: dropping the database we are connected to is impossible.
  const server = await connect(serverUrl, { connectTimeoutMs: 5_000 })
  try {
    return await work(server)
  } finally {
    await server.close()
  }
}

/** Quotes an identifier for the dialect (doubling the quote character inside it). */
export function quoteIdentifier(dialect: Dialect, identifier: string): string {
  return dialect === 'postgres' ? `"${identifier.replaceAll('"', '""')}"` : `\`${identifier.replaceAll('`', '``')}\``
}
