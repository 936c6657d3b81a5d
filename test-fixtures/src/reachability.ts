import { connect } from '#src/connection'
import { databaseUrls, type Dialect, dialects, redactUrl, urlEnvVars } from '#src/dialect'

/** The error thrown when a test database server cannot be reached. */
export class DatabaseUnreachableError extends Error {
  override readonly name = 'DatabaseUnreachableError'
  readonly dialect: Dialect
  readonly url: string

  constructor(dialect: Dialect, url: string, cause: unknown) {
    const label = dialect === 'postgres' ? 'PostgreSQL' : 'MariaDB'
    const envVar = urlEnvVars[dialect]
    const reason = cause instanceof Error ? cause.message || String((cause as { code?: unknown }).code) : String(cause)
    super(
      [
        `Cannot reach ${label} at ${redactUrl(url)} (${process.env[envVar] ? `from ${envVar}` : `${envVar} is unset; this is its default`}): ${reason}`,
        `Start the test databases with \`docker compose up -d\` in the repository root (or run .ci/run, which starts`,
        `the machine's own servers), or set ${envVar} to a reachable server. The tests do not skip without a database.`,
      ].join('\n'),
      { cause },
    )
    this.dialect = dialect
    this.url = url
  }
}

/** Options for {@link assertDatabasesReachable}. */
export interface ReachabilityOptions {
  /** Which servers to check (default both). */
  dialects?: readonly Dialect[]
  /** Server URLs to try instead of `databaseUrls`. */
  urls?: Partial<Record<Dialect, string>>
  /** Give up on a server after this long (default 3000 ms): a missing server fails the run at once. */
  timeoutMs?: number
}

/**
 * Connects to each server and runs `SELECT 1`; throws a {@link DatabaseUnreachableError} (naming the URL, the
 * environment variable and `docker compose up -d`) for the first one that does not answer in time.
 *
 * @example
 * ```ts
 * await assertDatabasesReachable({ dialects: ['postgres'] })
 * ```
 */
export async function assertDatabasesReachable(options: ReachabilityOptions = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 3_000
  const results = await Promise.allSettled(
    (options.dialects ?? dialects).map(async (dialect) => {
      const url = options.urls?.[dialect] ?? databaseUrls[dialect]
      try {
        await withTimeout(ping(url, timeoutMs), timeoutMs, `no answer within ${timeoutMs} ms`)
      } catch (error) {
        throw new DatabaseUnreachableError(dialect, url, error)
      }
    }),
  )
  const failures = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as Error] : []))
  if (failures.length === 1) throw failures[0]
  if (failures.length > 1) {
    throw new AggregateError(failures, failures.map((failure) => failure.message).join('\n\n'))
  }
}

async function ping(url: string, timeoutMs: number): Promise<void> {
  const connection = await connect(url, { connectTimeoutMs: timeoutMs })
  try {
    await connection.query('SELECT 1')
  } finally {
    await connection.close().catch(() => {})
  }
}

/** Rejects after `ms` if `promise` has not settled; the connect attempt behind it is left to its own timeout. */
function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
