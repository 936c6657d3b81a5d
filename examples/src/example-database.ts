import { parseArgs, type ParseArgsConfig } from 'node:util'
import { type DemoDatabase, ensureEventsRows, openDemoDatabase } from '@batchyield/bench'

type ArgOptions = NonNullable<ParseArgsConfig['options']>

/**
 * Parses the command line (the example's own options plus `--url`, `--data-dir`, `--rows`) and opens the
 * example's database: `--url`; else `batchyield_demo` on the `DATABASE_URL` server; else the demo's
 * embedded PostgreSQL (files in bench/.demo-output/pglite, or `--data-dir`). Makes sure `events` holds
 * `--rows` fixture rows (default 100,000, what the demo seeds, so the demo's table is reused as is).
 *
 * @example
 * const { db, args } = await openExampleDatabase({ out: { type: 'string' } })
 * try { ... } finally { await db.close() }
 */
export async function openExampleDatabase(
  ownOptions: ArgOptions,
): Promise<{ db: DemoDatabase; args: Record<string, string | boolean | undefined> }> {
  const { values } = parseArgs({
    options: { ...ownOptions, url: { type: 'string' }, 'data-dir': { type: 'string' }, rows: { type: 'string' } },
    strict: true,
  })
  const args = values as Record<string, string | boolean | undefined>
  const rows = args.rows === undefined ? 100_000 : Number(args.rows)
  if (!Number.isSafeInteger(rows) || rows < 1)
    throw new TypeError(`--rows must be a positive integer, received ${JSON.stringify(args.rows)}`)
  const db = await openDemoDatabase({
    ...(typeof args.url === 'string' ? { url: args.url } : {}),
    ...(typeof args['data-dir'] === 'string' ? { dataDir: args['data-dir'] } : {}),
  })
  try {
    await ensureEventsRows(db.url, rows)
  } catch (error) {
    await db.close()
    throw error
  }
  console.log(`database: ${db.description}`)
  return { db, args }
}

/** A numeric option, or its default. */
export function numberArg(args: Record<string, string | boolean | undefined>, name: string, fallback: number): number {
  const text = args[name]
  if (text === undefined) return fallback
  const value = Number(text)
  if (typeof text !== 'string' || !Number.isFinite(value) || value < 0)
    throw new TypeError(`--${name} must be a non-negative number, received ${JSON.stringify(text)}`)
  return value
}
