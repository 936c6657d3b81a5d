import pg from 'pg'
import mysql from 'mysql2/promise'
import { type Dialect, dialectOf } from '#src/dialect'

/**
 * One plain connection to a fixture database, the same shape for both dialects. SQL uses the dialect's own
 * placeholders (`$1` for PostgreSQL, `?` for MariaDB); values always travel as parameters.
 *
 * @example
 * ```ts
 * await using connection = await connect(db.url)
 * const rows = await connection.query<{ n: number }>('SELECT count(*)::int AS n FROM books')
 * ```
 */
export interface FixtureConnection extends AsyncDisposable {
  readonly dialect: Dialect
  /** Runs one statement with parameters and returns its rows (empty for statements that return none). */
  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<Row[]>
  close(): Promise<void>
}

/** Options for {@link connect}. */
export interface ConnectOptions {
  /** Give up connecting after this long (default 10 000 ms). */
  connectTimeoutMs?: number
}

/**
 * Opens one connection to the database a URL names. MariaDB connections read and write `DATETIME` values as
 * UTC (`timezone: 'Z'`), so `Date`s round-trip unchanged in both dialects.
 */
export async function connect(url: string, options: ConnectOptions = {}): Promise<FixtureConnection> {
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000
  return dialectOf(url) === 'postgres' ? connectPostgres(url, connectTimeoutMs) : connectMariadb(url, connectTimeoutMs)
}

/** Runs `work` on a fresh connection and closes it afterwards, whatever happens. */
export async function withConnection<T>(url: string, work: (connection: FixtureConnection) => Promise<T>): Promise<T> {
  const connection = await connect(url)
  try {
    return await work(connection)
  } finally {
    await connection.close()
  }
}

async function connectPostgres(url: string, connectTimeoutMs: number): Promise<FixtureConnection> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: connectTimeoutMs })
  // An idle client whose server goes away emits 'error'; without a listener that would crash the process.
  client.on('error', () => {})
  try {
    await client.connect()
  } catch (error) {
    await client.end().catch(() => {})
    throw error
  }
  let closed = false
  const close = async (): Promise<void> => {
    if (closed) return
    closed = true
    await client.end()
  }
  return {
    dialect: 'postgres',
    async query<Row>(sql: string, params: readonly unknown[] = []) {
      const result = await client.query(sql, params as unknown[])
      return (result.rows ?? []) as Row[]
    },
    close,
    [Symbol.asyncDispose]: close,
  }
}

/** mysql2 connection options from a `mysql://` or `mariadb://` URL. */
export function mariadbOptions(url: string): mysql.ConnectionOptions {
  const parsed = new URL(url)
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''))
  return {
    host: parsed.hostname,
    port: parsed.port === '' ? 3306 : Number(parsed.port),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    ...(database === '' ? {} : { database }),
    timezone: 'Z',
    charset: 'utf8mb4',
    jsonStrings: false,
  }
}

async function connectMariadb(url: string, connectTimeoutMs: number): Promise<FixtureConnection> {
  const connection = await mysql.createConnection({ ...mariadbOptions(url), connectTimeout: connectTimeoutMs })
  connection.on('error', () => {})
  let closed = false
  const close = async (): Promise<void> => {
    if (closed) return
    closed = true
    await connection.end().catch(() => connection.destroy())
  }
  return {
    dialect: 'mariadb',
    async query<Row>(sql: string, params: readonly unknown[] = []) {
      // Statements with parameters go through the binary protocol (real server-side parameters, immune to
      // sql_mode tricks like NO_BACKSLASH_ESCAPES); parameterless ones (DDL) through the text protocol.
      const [rows] =
        params.length === 0 ? await connection.query(sql) : await connection.execute(sql, params as mysql.ExecuteValues)
      return (Array.isArray(rows) ? rows : []) as Row[]
    },
    close,
    [Symbol.asyncDispose]: close,
  }
}
