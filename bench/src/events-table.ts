import { databaseUrls, schemaStatements, seedEvents, withDatabaseName } from '@batchyield/test-fixtures'
import pg from 'pg'

/** The database the bench uses on the `DATABASE_URL` server when no `--url` names one: kept between runs. */
export const benchDatabaseName = 'batchyield_bench'

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await work(client)
  } finally {
    await client.end()
  }
}

/**
 * The URL of the bench database on the server of `DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/test`),
 * creating the database when it does not exist yet.
 */
export async function ensureBenchDatabase(serverUrl: string = databaseUrls.postgres): Promise<string> {
  await withClient(serverUrl, async (client) => {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [benchDatabaseName])
    if (rowCount === 0) {
      // Same collation as the test databases: text orders by bytes.
      await client.query(
        `CREATE DATABASE ${benchDatabaseName} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`,
      )
    }
  })
  return withDatabaseName(serverUrl, benchDatabaseName)
}

/** Applies the fixture schema when the database has no `events` table yet. Returns whether it did. */
export async function ensureFixtureSchema(url: string): Promise<boolean> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ table: string | null }>("SELECT to_regclass('events')::text AS table")
    if (rows[0]?.table != null) return false
    for (const statement of schemaStatements('postgres')) await client.query(statement)
    return true
  })
}

/**
 * Makes `events` hold exactly the fixture rows 1..`rows`: applies the schema if needed, and reseeds with the
 * shared generator (`seedEvents`) unless the table already holds exactly those ids.
 */
export async function ensureEventsRows(
  url: string,
  rows: number,
  onProgress?: (inserted: number, total: number) => void,
): Promise<'reused' | 'seeded'> {
  await ensureFixtureSchema(url)
  const current = await withClient(url, async (client) => {
    const {
      rows: [row],
    } = await client.query<{ count: string; max: string | null }>(
      'SELECT count(*) AS count, max(id) AS max FROM events',
    )
    return { count: Number(row?.count ?? 0), max: Number(row?.max ?? 0) }
  })
  if (current.count === rows && current.max === rows) return 'reused'
  await seedEvents(url, rows, onProgress === undefined ? {} : { onProgress })
  return 'seeded'
}

/**
 * {@link ensureEventsRows} that narrates: seeding progress at most every 2 s, then whether it seeded or
 * reused the table, each as one line to `log`.
 *
 * @example
 * await ensureEventsRowsLogged(url, 1_000_000, (line) => process.stderr.write(`${line}\n`))
 */
export async function ensureEventsRowsLogged(
  url: string,
  rows: number,
  log: (line: string) => void,
): Promise<'reused' | 'seeded'> {
  let lastReport = 0
  const state = await ensureEventsRows(url, rows, (inserted, total) => {
    if (Date.now() - lastReport > 2000 || inserted === total) {
      lastReport = Date.now()
      log(`  seeding events: ${inserted.toLocaleString('en-US')} / ${total.toLocaleString('en-US')}`)
    }
  })
  log(state === 'reused' ? `  events already holds ${rows.toLocaleString('en-US')} rows: seeding skipped` : '  seeded')
  return state
}
