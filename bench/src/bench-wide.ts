/**
 * `npm run bench:wide`: seeds `wide_events` with N rows of W bytes, reads it with each adapter and strategy
 * (the defaults, then `maxChunkBytes: Infinity`), every mode in its own process, interleaved, several runs,
 * and writes bench/results/wide.{md,json} and the root README's "Wide rows" section. `--help` lists the options.
 */
import { DEFAULT_CHUNK_SIZE, DEFAULT_MAX_CHUNK_BYTES, DEFAULT_PREFETCH } from '@batchyield/batch-core'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ChildRequest } from './child-protocol.ts'
import { parseCommandLine, positiveInteger } from './cli-options.ts'
import { ensureBenchDatabase } from './events-table.ts'
import { describeMachine } from './machine.ts'
import type { Mode } from './modes/mode.ts'
import { childNodeArgs, loadMode, selectModeNames, wideModeNames } from './modes/registry.ts'
import { runInterleaved, type Measurement } from './runner.ts'
import { renderWideMarkdown, renderWideReadmeSection, summarizeWide, type WideReportInput } from './wide-report.ts'
import { ensureWideEventsLogged, expectedWideChecksum, warmWideEvents } from './wide-table.ts'

const help = `Usage: npm run bench:wide -- [options]

Seeds the table \`wide_events\` with N rows of W bytes (an integer id and a text payload; server-side, skipped
when it already holds exactly those rows), then reads it with TypeORM's \`qb.aiterator()\` and MikroORM's
\`em.aiterator()\`, keyset and cursor, with the library defaults (only batchYieldSize given) and again with
\`maxChunkBytes: Infinity\` (the behaviour before the byte bound): every mode in a fresh Node process with
Node's default flags, interleaved, --runs times. Writes wall time, peak RSS (the child's kernel maxRSS), a
checksum (sum of ids + sum of payload lengths, which every run must match) and whether each default mode
stayed under the goal to bench/results/wide.md and wide.json, and the "Wide rows" section of the root
README.md (between its bench-wide markers) when --out is not given.

Options:
  --rows N          rows in \`wide_events\` (default 20000)
  --width BYTES     payload bytes per row (default 1048576, 1 MiB)
  --runs N          runs per mode (default 3)
  --batch-size N    entities per yielded batch (default 10: a batch is in memory whole, and 500 rows of
                    1 MiB would be 500 MiB whatever the chunk size)
  --goal-mib N      the peak RSS every default mode must stay under (default 512)
  --modes LIST      comma-separated mode names or prefixes ending in * (default: all). Modes:
                    ${wideModeNames.slice(0, 4).join(', ')},
                    ${wideModeNames.slice(4, 6).join(', ')},
                    ${wideModeNames.slice(6).join(', ')}
  --url URL         PostgreSQL database to use as is (default: database "batchyield_bench" on the server
                    of DATABASE_URL, or postgres://postgres@127.0.0.1:5432, created when missing)
  --out DIR         where to write wide.md and wide.json (default bench/results; only the default also
                    updates the root README)
  --no-warmup       skip reading the table's pages once before the first timed run
  -h, --help        show this help
`

const values = parseCommandLine(help, {
  rows: { type: 'string' },
  width: { type: 'string' },
  runs: { type: 'string' },
  'batch-size': { type: 'string' },
  'goal-mib': { type: 'string' },
  modes: { type: 'string' },
  url: { type: 'string' },
  out: { type: 'string' },
  'no-warmup': { type: 'boolean' },
})

const shape = {
  rows: positiveInteger('rows', values.rows, 20_000),
  width: positiveInteger('width', values.width, 2 ** 20),
}
const runs = positiveInteger('runs', values.runs, 3)
const batchYieldSize = positiveInteger('batch-size', values['batch-size'], 10)
const goalBytes = positiveInteger('goal-mib', values['goal-mib'], 512) * 2 ** 20
const selected = selectModeNames(values.modes, wideModeNames)
const outDir = values.out ?? fileURLToPath(new URL('../results/', import.meta.url))
const log = (line: string) => process.stderr.write(`${line}\n`)

const url = values.url ?? (await ensureBenchDatabase())
log(
  `bench:wide: ${shape.rows.toLocaleString('en-US')} rows of ${shape.width.toLocaleString('en-US')} bytes, ${runs} run(s), modes: ${selected.join(', ')}`,
)
await ensureWideEventsLogged(url, shape, log)

const modes: Record<string, Mode> = {}
for (const name of selected) modes[name] = await loadMode(name)
// The wide modes pass no chunkSize: the request's is the library default, for the record.
const requests: ChildRequest[] = selected.map((mode) => ({ url, chunkSize: DEFAULT_CHUNK_SIZE, batchYieldSize, mode }))
// Node's default flags for every mode (no --max-old-space-size), as a user runs it.
const childOptions = (request: ChildRequest) => ({ nodeArgs: childNodeArgs(request.mode, 0, process.execArgv) })

if (!values['no-warmup']) {
  log('  warm-up: reading the table and its TOAST pages once (untimed)')
  await warmWideEvents(url)
}

const machine = await describeMachine(url)
const base: Omit<WideReportInput, 'runs' | 'measurements'> = {
  machine,
  shape,
  batchYieldSize,
  defaults: { chunkSize: DEFAULT_CHUNK_SIZE, maxChunkBytes: DEFAULT_MAX_CHUNK_BYTES, prefetch: DEFAULT_PREFETCH },
  goalBytes,
  expectedChecksum: expectedWideChecksum(shape),
  modes: Object.fromEntries(
    Object.entries(modes).map(([name, m]) => [name, { library: m.library, description: m.description }]),
  ),
}

const readmeStart = '<!-- bench-wide:start -->'
const readmeEnd = '<!-- bench-wide:end -->'

/** Writes wide.{md,json} (and, with the default --out, the root README's section) from `runsDone` complete rounds. */
async function writeReport(measurements: readonly Measurement[], runsDone: number): Promise<string> {
  const input: WideReportInput = { ...base, runs: runsDone, measurements }
  const markdown = renderWideMarkdown(input)
  await mkdir(outDir, { recursive: true })
  await writeFile(join(outDir, 'wide.md'), markdown)
  await writeFile(
    join(outDir, 'wide.json'),
    JSON.stringify(
      {
        machine,
        shape,
        runs: runsDone,
        batchYieldSize,
        defaults: base.defaults,
        goalBytes,
        expectedChecksum: base.expectedChecksum,
        summaries: summarizeWide(input),
        measurements,
      },
      null,
      2,
    ) + '\n',
  )
  if (values.out === undefined) {
    const readme = fileURLToPath(new URL('../../README.md', import.meta.url))
    const text = await readFile(readme, 'utf8').catch(() => '')
    if (text.includes(readmeStart) && text.includes(readmeEnd)) {
      const section = `${readmeStart}\n${renderWideReadmeSection(input)}\n${readmeEnd}`
      await writeFile(
        readme,
        text.slice(0, text.indexOf(readmeStart)) + section + text.slice(text.indexOf(readmeEnd) + readmeEnd.length),
      )
    } else log(`  (the root README has no ${readmeStart} … ${readmeEnd} markers: its section was not updated)`)
  }
  return markdown
}

// A report after every complete round, so a run cut short still leaves its finished rounds behind.
const soFar: Measurement[] = []
let writing: Promise<unknown> = Promise.resolve()
const measurements = await runInterleaved({
  requests,
  runs,
  childOptions,
  onMeasurement(m) {
    soFar.push(m)
    if (soFar.length % requests.length === 0 && soFar.length < requests.length * runs) {
      const snapshot = [...soFar]
      writing = writing
        .then(() => writeReport(snapshot, snapshot.length / requests.length))
        .then(
          () => log(`  (report for ${snapshot.length / requests.length} round(s) written)`),
          (error: unknown) => log(`  (could not write the interim report: ${String(error)})`),
        )
    }
    if ('error' in m) log(`  run ${m.run} ${m.request.mode}: FAILED ${m.error.split('\n')[0]}`)
    else {
      const r = m.result
      const checksum =
        r.checksum === base.expectedChecksum
          ? 'checksum ok'
          : `CHECKSUM ${r.checksum}, expected ${base.expectedChecksum}`
      log(
        `  run ${m.run} ${m.request.mode}: ${r.rows.toLocaleString('en-US')} rows, ${(r.wallMs / 1000).toFixed(2)} s, peak ${Math.round(r.maxRssBytes / 2 ** 20)} MiB, first batch ${r.firstBatchMs.toFixed(1)} ms, ${checksum}`,
      )
    }
  },
})
await writing

const markdown = await writeReport(measurements, runs)
for (const s of summarizeWide({ shape, goalBytes, expectedChecksum: base.expectedChecksum, measurements })) {
  if (s.runs > s.failures.length && !s.checksumOk)
    log(`  WARNING: ${s.mode} did not read every row exactly (checksum or row count wrong)`)
  if (s.metGoal === false)
    log(
      `  ${s.mode}: peak RSS ${Math.round(s.maxPeakRssBytes / 2 ** 20)} MiB, over the goal of ${goalBytes / 2 ** 20} MiB`,
    )
}
process.stdout.write(`${markdown}\n`)
log(`wrote ${join(outDir, 'wide.md')}, wide.json${values.out === undefined ? ', README.md' : ''}`)
