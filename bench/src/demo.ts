/**
 * `npm run demo`: the whole job on a fresh machine. Starts an embedded PostgreSQL (PGlite) unless a server
 * is given, creates the fixture schema, seeds `events`, and exports it to a file with each adapter in
 * batches, with a progress bar and a summary. `--help` lists the options.
 */
import { mkdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { openDemoDatabase } from './demo-database.ts'
import { ensureEventsRows } from './events-table.ts'
import { type ExportFormat, exportFormats } from './export-format.ts'
import { type ExportJobOptions, type ExportJobSummary, exportWithMikroOrm, exportWithTypeorm } from './export-jobs.ts'
import { formatMiB } from './memory.ts'

const adapters = {
  typeorm: exportWithTypeorm,
  'mikro-orm': exportWithMikroOrm,
} satisfies Record<string, (options: ExportJobOptions) => Promise<ExportJobSummary>>
type AdapterName = keyof typeof adapters

const help = `Usage: npm run demo -- [options]

Exports the fixture table \`events\` to a file with each adapter (@batchyield/typeorm's qb.aiterator and
@batchyield/mikro-orm's em.aiterator), in batches, with a progress bar, then prints a summary.

Database (first that applies):
  --url URL          use this PostgreSQL database as is (its \`events\` table is created if missing and
                     reseeded unless it already holds exactly --rows fixture rows)
  DATABASE_URL       use database "batchyield_demo" on that server (created if missing)
  (neither)          start an embedded PostgreSQL (PGlite: PostgreSQL in WebAssembly, in this process)
                     on a free 127.0.0.1 port: nothing to install. Its files stay in bench/.demo-output/
                     pglite, so a second run (and the examples) reuse the seeded table
  --data-dir DIR     keep the embedded database's files here instead
  --in-memory        embedded database in memory only, gone when the demo ends

Options:
  --rows N           rows to seed into \`events\` (default 100000)
  --batch-size N     entities per batch handed to the writer (default 500)
  --chunk-size N     rows per database round trip (default 2000)
  --format F         ndjson (default) or csv
  --adapters LIST    comma-separated: typeorm, mikro-orm (default both)
  --out DIR          where to write the files (default bench/.demo-output)
  -h, --help         show this help

On a terminal the progress is a live bar; otherwise (a pipe, a CI log) it is one plain line per second.
`

function positiveInteger(option: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback
  const value = Number(text.replaceAll('_', ''))
  if (!Number.isSafeInteger(value) || value < 1)
    throw new TypeError(`--${option} must be a positive integer, received ${JSON.stringify(text)}`)
  return value
}

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    rows: { type: 'string' },
    'batch-size': { type: 'string' },
    'chunk-size': { type: 'string' },
    format: { type: 'string' },
    adapters: { type: 'string' },
    out: { type: 'string' },
    'data-dir': { type: 'string' },
    'in-memory': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
})
if (values.help) {
  process.stdout.write(help)
  process.exit(0)
}

const rows = positiveInteger('rows', values.rows, 100_000)
const batchYieldSize = positiveInteger('batch-size', values['batch-size'], 500)
const chunkSize = positiveInteger('chunk-size', values['chunk-size'], 2000)
const format = (values.format ?? 'ndjson') as ExportFormat
if (!exportFormats.includes(format))
  throw new TypeError(`--format must be one of ${exportFormats.join(', ')}, received ${JSON.stringify(values.format)}`)
const selected = (values.adapters ?? 'typeorm,mikro-orm').split(',').map((a) => a.trim()) as AdapterName[]
for (const name of selected) {
  if (!(name in adapters))
    throw new TypeError(`--adapters accepts ${Object.keys(adapters).join(', ')}, received ${JSON.stringify(name)}`)
}
const outDir =
  values.out === undefined ? fileURLToPath(new URL('../.demo-output', import.meta.url)) : resolve(values.out)

const say = (line: string) => process.stdout.write(`${line}\n`)
const started = performance.now()
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`

say('Opening the database …')
const db = await openDemoDatabase({
  ...(values.url === undefined ? {} : { url: values.url }),
  ...(values['in-memory']
    ? { dataDir: 'memory' }
    : values['data-dir'] === undefined
      ? {}
      : { dataDir: resolve(values['data-dir']) }),
})
const embedded = db.description.startsWith('embedded')
say(`Database: ${db.description} (${seconds(performance.now() - started)})`)
const url = db.url

try {
  const seedStarted = performance.now()
  const state = await ensureEventsRows(url, rows, (inserted, total) =>
    say(`  seeding events: ${inserted.toLocaleString('en-US')}/${total.toLocaleString('en-US')}`),
  )
  say(
    state === 'reused'
      ? `events already holds ${rows.toLocaleString('en-US')} fixture rows`
      : `Seeded ${rows.toLocaleString('en-US')} rows into events in ${seconds(performance.now() - seedStarted)}`,
  )

  // The count is optional for the job itself; it only feeds the progress bar's percentage and ETA.
  const countClient = new pg.Client({ connectionString: url })
  await countClient.connect()
  const total = Number((await countClient.query<{ n: string }>('SELECT count(*) AS n FROM events')).rows[0]?.n)
  await countClient.end()

  await mkdir(outDir, { recursive: true })
  const summaries: ExportJobSummary[] = []
  for (const name of selected) {
    const file = join(outDir, `events-${name}.${format}`)
    say(
      `\nExporting events with ${name === 'typeorm' ? "TypeORM: createQueryBuilder('e').aiterator({ batchYieldSize })" : 'MikroORM: em.aiterator(Event, { batchYieldSize })'} …`,
    )
    summaries.push(await adapters[name]({ url, file, format, batchYieldSize, chunkSize, total }))
  }

  say('\nSummary')
  say('| Adapter | Rows | Batches | Wall time | Rows/s | Peak RSS (growth during the job) | File |')
  say('|---|--:|--:|--:|--:|--:|---|')
  for (const s of summaries) {
    const rate = Math.round((s.rows / s.wallMs) * 1000).toLocaleString('en-US')
    say(
      `| ${s.adapter.trim()} | ${s.rows.toLocaleString('en-US')} | ${s.batches.toLocaleString('en-US')} | ${seconds(s.wallMs)} | ${rate} | ${formatMiB(s.peakRssBytes)} (+${formatMiB(Math.max(0, s.peakRssBytes - s.startRssBytes))}) | ${s.file} |`,
    )
  }
  say(
    `\nPeak RSS is this whole process${embedded ? ', the embedded PostgreSQL included' : ''}; in parentheses, how much it grew while the job ran. Total ${seconds(performance.now() - started)}.`,
  )
  for (const s of summaries) {
    if (s.rows !== total) throw new Error(`${s.adapter.trim()} exported ${s.rows} rows, but events holds ${total}`)
  }
} finally {
  await db.close()
}
