import { mkdir, open, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { redactUrl, withDatabaseName } from '@batchyield/test-fixtures'
import pg from 'pg'
import { startEmbeddedPostgres } from './embedded-postgres.ts'

/** Where the embedded database keeps its files between runs: the demo and the examples share it. */
export const defaultDataDir = fileURLToPath(new URL('../.demo-output/pglite', import.meta.url))

/** The database on the `DATABASE_URL` server that the demo and the examples use. */
export const demoDatabaseName = 'batchyield_demo'

/** A database to run the demo or an example against, and how to let go of it. */
export interface DemoDatabase extends AsyncDisposable {
  readonly url: string
  /** One line saying which database this is, for the output. */
  readonly description: string
  close(): Promise<void>
}

export interface OpenDemoDatabaseOptions {
  /** Use this database as is. */
  url?: string
  /** Embedded database directory (default {@link defaultDataDir}); `'memory'` for a throw-away one. */
  dataDir?: string
}

/**
 * The database the demo and the examples run against, first that applies: `url`; database
 * `batchyield_demo` on the server of `DATABASE_URL` (created when missing); else an embedded PostgreSQL
 * (PGlite) on a free loopback port, persisted in `dataDir` so a job killed halfway finds its rows again.
 *
 * @example
 * await using db = await openDemoDatabase({ url: process.env.EXAMPLE_URL })
 * await ensureEventsRows(db.url, 100_000)
 */
export async function openDemoDatabase(options: OpenDemoDatabaseOptions = {}): Promise<DemoDatabase> {
  const nothingToClose = async () => {}
  if (options.url !== undefined) {
    return {
      url: options.url,
      description: `${redactUrl(options.url)} (--url)`,
      close: nothingToClose,
      [Symbol.asyncDispose]: nothingToClose,
    }
  }
  const serverUrl = process.env.DATABASE_URL
  if (serverUrl) {
    const client = new pg.Client({ connectionString: serverUrl })
    await client.connect()
    try {
      const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [demoDatabaseName])
      if (rowCount === 0) await client.query(`CREATE DATABASE ${demoDatabaseName}`)
    } finally {
      await client.end()
    }
    const url = withDatabaseName(serverUrl, demoDatabaseName)
    return {
      url,
      description: `${redactUrl(url)} (server from DATABASE_URL)`,
      close: nothingToClose,
      [Symbol.asyncDispose]: nothingToClose,
    }
  }
  if (options.dataDir === 'memory') {
    const server = await startEmbeddedPostgres()
    return {
      url: server.url,
      description: `embedded PostgreSQL (PGlite, in memory) at ${server.url}`,
      close: server.stop,
      [Symbol.asyncDispose]: server.stop,
    }
  }
  const dataDir = options.dataDir ?? defaultDataDir
  const unlock = await lockDataDir(dataDir)
  try {
    const server = await startEmbeddedPostgres({ dataDir })
    let closed: Promise<void> | undefined
    const close = () => (closed ??= server.stop().finally(unlock))
    return {
      url: server.url,
      description: `embedded PostgreSQL (PGlite, files in ${dataDir}) at ${server.url}`,
      close,
      [Symbol.asyncDispose]: close,
    }
  } catch (error) {
    await unlock()
    throw error
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * PGlite does not guard its directory against a second process, and two would corrupt it: take a lock
 * file holding our pid, and take over a lock whose process is gone (a killed job).
 */
async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  await mkdir(dataDir, { recursive: true })
  const lockFile = join(dataDir, '..', `${dataDir.split('/').at(-1)}.lock`)
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const handle = await open(lockFile, 'wx')
      await handle.writeFile(String(process.pid))
      await handle.close()
      return () => rm(lockFile, { force: true })
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const owner = Number(await readFile(lockFile, 'utf8').catch(() => ''))
      if (Number.isSafeInteger(owner) && owner > 0 && isRunning(owner)) {
        throw new Error(
          `The embedded database in ${dataDir} is in use by process ${owner}. Wait for it to finish, or pass --url / DATABASE_URL to use a PostgreSQL server.`,
        )
      }
      await rm(lockFile, { force: true })
    }
  }
  throw new Error(`Could not lock ${dataDir}`)
}
