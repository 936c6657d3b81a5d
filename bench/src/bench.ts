/**
 * `npm run bench`: seeds `events` with N rows, times every mode in its own process, interleaved, several
 * runs, and writes the medians to bench/results/latest.{md,svg,json}. `--help` lists the options.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { checkBar } from './bar-check.ts'
import { parseCommandLine, positiveInteger } from './cli-options.ts'
import { ensureBenchDatabase, ensureEventsRowsLogged } from './events-table.ts'
import { describeMachine } from './machine.ts'
import type { ChildRequest } from './child-protocol.ts'
import type { Mode } from './modes/mode.ts'
import { childNodeArgs, loadMode, modeNames, selectModeNames, wholeTableModes } from './modes/registry.ts'
import { renderChartSvg } from './report-chart.ts'
import { renderMarkdown } from './report-markdown.ts'
import { runChild, runInterleaved, withBaselineThroughout, type Measurement } from './runner.ts'
import { labelOf, summarize } from './summary.ts'

function wrap(text: string, width: number): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else line = line ? `${line} ${word}` : word
  }
  return line ? [...lines, line] : lines
}

const help = `Usage: npm run bench -- [options]

Seeds the fixture table \`events\` with N rows (skipped when it already holds exactly those rows), then runs
every mode in a fresh Node process, interleaved, --runs times, and writes medians of wall time, rows/s,
peak RSS and time to first batch to bench/results/latest.md, latest.svg (chart) and latest.json (raw runs).

Options:
  --rows N          rows in \`events\` (default 1000000)
  --runs N          runs per mode (default 3)
  --url URL         PostgreSQL database to use as is (default: database "batchyield_bench" on the server
                    of DATABASE_URL, or postgres://postgres@127.0.0.1:5432, created when missing)
  --modes LIST      comma-separated mode names or prefixes ending in * (default: all). Modes:
                    ${wrap(modeNames.join(', '), 84).join('\n                    ')}
  --small N         also run the aiterator modes with a limit of N rows, to check that memory stays flat
                    (default 100000 when --rows is larger; 0 to skip)
  --chunk-size N    rows per round trip (default 2000)
  --batch-size N    entities per yielded batch (default 500)
  --heap-mib N      --max-old-space-size for the modes that hold the whole table (${[...wholeTableModes].join(', ')};
                    default 16384, so they finish at 1M rows instead of dying at V8's default heap limit);
                    every other mode runs with Node's defaults, as a user would run it
  --out DIR         where to write the results (default bench/results)
  --no-warmup       skip the untimed warm-up read of the table
  --no-heap-check   skip the leak check (one extra run of each streaming mode with forced GCs)
  -h, --help        show this help
`

const values = parseCommandLine(help, {
  rows: { type: 'string' },
  runs: { type: 'string' },
  url: { type: 'string' },
  modes: { type: 'string' },
  small: { type: 'string' },
  'chunk-size': { type: 'string' },
  'batch-size': { type: 'string' },
  'heap-mib': { type: 'string' },
  out: { type: 'string' },
  'no-warmup': { type: 'boolean' },
  'no-heap-check': { type: 'boolean' },
})

const rows = positiveInteger('rows', values.rows, 1_000_000)
const runs = positiveInteger('runs', values.runs, 3)
const chunkSize = positiveInteger('chunk-size', values['chunk-size'], 2000)
const batchYieldSize = positiveInteger('batch-size', values['batch-size'], 500)
const heapMib = positiveInteger('heap-mib', values['heap-mib'], 16_384)
const smallDefault = rows > 100_000 ? 100_000 : 0
const small = positiveInteger('small', values.small, smallDefault, true)
const selected = selectModeNames(values.modes, modeNames)
const outDir = values.out ?? fileURLToPath(new URL('../results/', import.meta.url))

const url = values.url ?? (await ensureBenchDatabase())
const log = (line: string) => process.stderr.write(`${line}\n`)

log(`bench: ${rows.toLocaleString('en-US')} rows, ${runs} run(s), modes: ${selected.join(', ')}`)
await ensureEventsRowsLogged(url, rows, log)

const modes: Record<string, Mode> = {}
for (const name of selected) modes[name] = await loadMode(name)

const base = { url, chunkSize, batchYieldSize }
const requests: ChildRequest[] = selected.map((mode) => ({ ...base, mode }))
if (small > 0 && small < rows) {
  for (const name of selected) {
    // Flatness is the iterators' promise; the baselines at 100k would only add minutes.
    if (modes[name]!.supportsLimit && modes[name]!.consumerDelayMs === 0 && name.includes('aiterator')) {
      requests.push({ ...base, mode: name, limit: small })
    }
  }
}

/** The floor runs once every this many processes of a round. */
const FLOOR_EVERY = 5
const plannedRequests = withBaselineThroughout(requests, 'floor', FLOOR_EVERY)

// Only the whole-table baselines need more than V8's default heap; every other mode runs as users run it.
const childOptions = (request: ChildRequest) => ({ nodeArgs: childNodeArgs(request.mode, heapMib, process.execArgv) })
const nodeArgsByMode = Object.fromEntries(selected.map((mode) => [mode, childOptions({ ...base, mode }).nodeArgs]))
if (!values['no-warmup']) {
  log('  warm-up: one untimed read of the table (floor)')
  await runInterleaved({ requests: [{ ...base, mode: 'floor' }], runs: 1, childOptions })
}

const machine = await describeMachine(url)
const modeInfo = Object.fromEntries(
  Object.entries(modes).map(([name, m]) => [name, { library: m.library, description: m.description }]),
)

/** Writes latest.{md,svg,json} (and the README section) from the measurements so far: `runsDone` complete rounds. */
async function writeReport(
  measured: readonly Measurement[],
  runsDone: number,
  liveHeap: readonly { mode: string; samples: [number, number][] }[],
): Promise<string> {
  const summaries = summarize(measured)
  const bar = checkBar(summaries, small > 0 ? small : undefined)
  const markdown = renderMarkdown({
    machine,
    tableRows: rows,
    runs: runsDone,
    chunkSize,
    batchYieldSize,
    childNodeArgs: nodeArgsByMode,
    summaries,
    bar,
    modes: modeInfo,
    liveHeap,
    floorEvery: FLOOR_EVERY,
  })
  const svg = await renderChartSvg(
    summaries,
    Object.fromEntries(Object.entries(modes).map(([name, m]) => [name, m.library])),
    `batchyield bench: ${rows.toLocaleString('en-US')} rows, medians of ${runsDone} run(s), ${machine.date.slice(0, 10)}`,
  )
  await mkdir(outDir, { recursive: true })
  await writeFile(join(outDir, 'latest.md'), markdown)
  await writeFile(join(outDir, 'latest.svg'), svg)
  await writeFile(
    join(outDir, 'latest.json'),
    JSON.stringify(
      {
        machine,
        rows,
        runs: runsDone,
        chunkSize,
        batchYieldSize,
        nodeArgsByMode,
        measurements: measured,
        summaries,
        bar,
        liveHeap,
      },
      null,
      2,
    ) + '\n',
  )
  // The default results directory also refreshes the "Latest results" section of bench/README.md.
  if (values.out === undefined) {
    const readme = fileURLToPath(new URL('../README.md', import.meta.url))
    const text = await readFile(readme, 'utf8').catch(() => '')
    const start = '<!-- bench-results:start -->'
    const end = '<!-- bench-results:end -->'
    if (text.includes(start) && text.includes(end)) {
      const section = `${start}\n![Wall time and peak RSS per mode](results/latest.svg)\n\n${markdown
        .replace(/^# (.*)$/m, '**$1**')
        .replace(/^## /gm, '### ')
        .trimEnd()}\n${end}`
      await writeFile(readme, text.slice(0, text.indexOf(start)) + section + text.slice(text.indexOf(end) + end.length))
    }
  }
  return markdown
}

// A report after every complete round, so a run cut short still leaves its finished rounds behind.
const soFar: Measurement[] = []
let writing: Promise<unknown> = Promise.resolve()
const measurements: Measurement[] = await runInterleaved({
  requests: plannedRequests,
  runs,
  childOptions,
  onMeasurement(m) {
    soFar.push(m)
    if (soFar.length % plannedRequests.length === 0 && soFar.length < plannedRequests.length * runs) {
      const snapshot = [...soFar]
      writing = writing
        .then(() => writeReport(snapshot, snapshot.length / plannedRequests.length, []))
        .then(
          () => log(`  (report for ${snapshot.length / plannedRequests.length} round(s) written)`),
          (error: unknown) => log(`  (could not write the interim report: ${String(error)})`),
        )
    }
    const label = labelOf(m.request.mode, m.request.limit)
    if ('error' in m) log(`  run ${m.run} ${label}: FAILED ${m.error.split('\n')[0]}`)
    else {
      const r = m.result
      log(
        `  run ${m.run} ${label}: ${(r.wallMs / 1000).toFixed(2)} s, ${Math.round((r.rows / r.wallMs) * 1000).toLocaleString('en-US')} rows/s, peak ${Math.round(r.maxRssBytes / 2 ** 20)} MiB, first ${r.firstBatchMs.toFixed(1)} ms`,
      )
    }
  },
})

const liveHeap: { mode: string; samples: [number, number][] }[] = []
if (!values['no-heap-check']) {
  const streaming = selected.filter((name) => modes[name]!.consumerDelayMs === 0 && /aiterator|stream/.test(name))
  for (const name of streaming) {
    try {
      const result = await runChild(
        { ...base, mode: name, liveHeapEvery: Math.max(1, Math.floor(rows / 10)) },
        { nodeArgs: [...childOptions({ ...base, mode: name }).nodeArgs, '--expose-gc'] },
      )
      liveHeap.push({ mode: name, samples: result.liveHeap ?? [] })
      const samples = result.liveHeap ?? []
      log(`  leak check ${name}: live heap ${samples.map(([, bytes]) => Math.round(bytes / 2 ** 20)).join(' → ')} MiB`)
    } catch (error) {
      log(`  leak check ${name}: FAILED ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`)
    }
  }
}

await writing

const checksums = new Set(
  summarize(measurements)
    .filter((s) => s.limit === undefined && s.checksum !== undefined)
    .map((s) => s.checksum),
)
if (checksums.size > 1) log(`  WARNING: modes disagree on the checksum of quantity: ${[...checksums].join(', ')}`)
const markdown = await writeReport(measurements, runs, liveHeap)
process.stdout.write(`${markdown}\n`)
log(`wrote ${join(outDir, 'latest.md')}, latest.svg, latest.json`)
