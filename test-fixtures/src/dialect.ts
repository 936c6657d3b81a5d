/** The database servers the fixtures (and the adapters' suites) run against. */
export type Dialect = 'postgres' | 'mariadb'

/** Every supported dialect, in the order suites usually run them. */
export const dialects: readonly Dialect[] = ['postgres', 'mariadb']

/** The environment variable that holds each dialect's server URL. */
export const urlEnvVars: Readonly<Record<Dialect, string>> = {
  postgres: 'DATABASE_URL',
  mariadb: 'MARIADB_URL',
}

/** The URL each dialect falls back to when its environment variable is unset (what docker-compose.yml starts). */
export const defaultUrls: Readonly<Record<Dialect, string>> = {
  postgres: 'postgres://postgres@127.0.0.1:5432/test',
  mariadb: 'mysql://root@127.0.0.1:3306/test',
}

/**
 * The server URL of each dialect: `DATABASE_URL` / `MARIADB_URL` when set (and non-empty), else the defaults.
 * Read at access time, so a test that changes the environment sees the change.
 *
 * @example
 * ```ts
 * import { databaseUrls } from '@batchyield/test-fixtures'
 * const pool = new pg.Pool({ connectionString: databaseUrls.postgres })
 * ```
 */
export const databaseUrls: Readonly<Record<Dialect, string>> = Object.freeze({
  get postgres() {
    return urlFromEnv('postgres')
  },
  get mariadb() {
    return urlFromEnv('mariadb')
  },
})

function urlFromEnv(dialect: Dialect): string {
  const fromEnv = process.env[urlEnvVars[dialect]]
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : defaultUrls[dialect]
}

/**
 * The dialect a URL speaks, from its scheme (`postgres:`/`postgresql:` or `mysql:`/`mariadb:`).
 *
 * @example
 * ```ts
 * dialectOf('mysql://root@127.0.0.1:3306/test') // 'mariadb'
 * ```
 */
export function dialectOf(url: string): Dialect {
  const scheme = parseUrl(url).protocol
  if (scheme === 'postgres:' || scheme === 'postgresql:') return 'postgres'
  if (scheme === 'mysql:' || scheme === 'mariadb:') return 'mariadb'
  throw new TypeError(
    `Unsupported database URL scheme ${JSON.stringify(scheme)} in ${redactUrl(url)}: expected postgres://, postgresql://, mysql:// or mariadb://`,
  )
}

/**
 * The same server URL pointing at another database (query string and credentials kept).
 *
 * @example
 * ```ts
 * withDatabaseName('postgres://postgres@127.0.0.1:5432/test', 'by_x') // 'postgres://postgres@127.0.0.1:5432/by_x'
 * ```
 */
export function withDatabaseName(url: string, database: string): string {
  const parsed = parseUrl(url)
  parsed.pathname = `/${encodeURIComponent(database)}`
  return parsed.toString()
}

/** The database named in a URL's path (`test` in `postgres://…/test`), or `undefined` when it names none. */
export function databaseNameOf(url: string): string | undefined {
  const name = decodeURIComponent(parseUrl(url).pathname.replace(/^\//, ''))
  return name === '' ? undefined : name
}

/** The URL with its password masked, for error messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password !== '') parsed.password = '***'
    return parsed.toString()
  } catch {
    return '<unparseable URL>'
  }
}

function parseUrl(url: string): URL {
  try {
    return new URL(url)
  } catch {
    throw new TypeError(`Invalid database URL ${JSON.stringify(redactUrl(url))}: expected e.g. ${defaultUrls.postgres}`)
  }
}
