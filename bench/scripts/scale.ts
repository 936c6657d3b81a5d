/**
 * Rows per second of the partitioned backfill (examples/src/partitioned-backfill.ts: BullMQ on Redis, worker
 * processes, each batch's writes and resume token in one transaction) with 1, 2 and 4 workers on the bench's
 * `events` table, each run in its own process tree, the worker counts interleaved round by round:
 *
 *   npx node bench/scripts/scale.ts [--rows 1000000] [--runs 2] [--workers 1,2,4] [--partitions 16] [--batch-size 500] [--delay-ms 0]
 *
 * The table: BENCH_URL, or batchyield_bench on the DATABASE_URL server (`npm run bench -- --rows 1000000 --runs 1
 * --modes floor` seeds it). Each run discards its results afterwards (`--discard`), so the table the next run reads is
 * the same. `--delay-ms` makes every batch wait that long after its commit (the example's stand-in for a call to
 * another system), which shows how the workers scale when the database is not what they wait for. Writes
 * bench/results/scale.json (scale-delay-<N>ms.json with --delay-ms: every run's summary) and prints the table of medians that
 * bench/results/scale.md records.
 */
import { spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import os from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { databaseUrls, withDatabaseName } from '@batchyield/test-fixtures'
import { describeMachine } from '../src/machine.ts'

const { values } = parseArgs({
  options: {
    rows: { type: 'string' },
    runs: { type: 'string' },
    workers: { type: 'string' },
    partitions: { type: 'string' },
    'batch-size': { type: 'string' },
    'delay-ms': { type: 'string' },
  },
  strict: true,
})
const rows = Number(values.rows ?? 1_000_000)
const runs = Number(values.runs ?? 2)
const workerCounts = (values.workers ?? '1,2,4').split(',').map(Number)
const partitions = Number(values.partitions ?? 16)
const batchSize = Number(values['batch-size'] ?? 500)
const delayMs = Number(values['delay-ms'] ?? 0)
const url =
  process.env.BENCH_URL ?? withDatabaseName(process.env.DATABASE_URL ?? databaseUrls.postgres, 'batchyield_bench')
const script = fileURLToPath(new URL('../../examples/src/partitioned-backfill.ts', import.meta.url))

interface Summary {
  readonly rows: number
  readonly processed: number
  readonly duplicates: number
  readonly missing: number
  readonly workers: number
  readonly partitions: number
  readonly seconds: number
  readonly partitionSeconds: number
  readonly rowsPerSecond: number
  /** The machine's 1-minute load average before and after the run (other work on the machine shows here). */
  loadBefore?: number
  loadAfter?: number
}

/** One run of the example in its own process; its last line is the summary. */
function runOnce(workers: number): Promise<Summary> {
  const args = [
    script,
    '--url',
    url,
    '--rows',
    String(rows),
    '--workers',
    String(workers),
    '--partitions',
    String(partitions),
    '--batch-size',
    String(batchSize),
    '--delay-ms',
    String(delayMs),
    '--discard',
  ]
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
    let output = ''
    child.stdout.setEncoding('utf8').on('data', (text: string) => (output += text))
    child.on('error', reject)
    child.on('close', (code) => {
      if (code !== 0)
        return reject(new Error(`partitioned-backfill with ${workers} workers exited with ${code}:\n${output}`))
      resolve(JSON.parse(output.trimEnd().split('\n').at(-1)!) as Summary)
    })
  })
}

const machine = await describeMachine(url)
const results: Summary[] = []
for (let round = 1; round <= runs; round++) {
  for (const workers of workerCounts) {
    const loadBefore = os.loadavg()[0]!
    const summary = { ...(await runOnce(workers)), loadBefore, loadAfter: os.loadavg()[0]! }
    if (summary.processed !== rows || summary.duplicates !== 0 || summary.missing !== 0)
      throw new Error(`run with ${workers} workers did not process every row once: ${JSON.stringify(summary)}`)
    console.log(
      `round ${round}, ${workers} worker(s): ${summary.seconds.toFixed(1)} s, ${summary.rowsPerSecond} rows/s (load ${loadBefore.toFixed(1)} → ${summary.loadAfter.toFixed(1)})`,
    )
    results.push(summary)
  }
}

const median = (xs: readonly number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
const byWorkers = workerCounts.map((workers) => ({
  workers,
  seconds: median(results.filter((r) => r.workers === workers).map((r) => r.seconds)),
  all: results.filter((r) => r.workers === workers),
}))
const base = byWorkers[0]!.seconds
const lines = [
  '| workers | wall time (median) | rows/s | vs 1 worker | runs (s) | partitions() |',
  '| --: | --: | --: | --: | --- | --: |',
  ...byWorkers.map(
    ({ workers, seconds, all }) =>
      `| ${workers} | ${seconds.toFixed(1)} s | ${Math.round(rows / seconds).toLocaleString('en-US')} | ${(base / seconds).toFixed(2)}x | ${all.map((r) => r.seconds.toFixed(1)).join(', ')} | ${median(all.map((r) => r.partitionSeconds * 1000)).toFixed(0)} ms |`,
  ),
]
const file = new URL(`../results/scale${delayMs > 0 ? `-delay-${delayMs}ms` : ''}.json`, import.meta.url)
await writeFile(file, `${JSON.stringify({ machine, rows, partitions, batchSize, delayMs, runs: results }, null, 2)}\n`)
console.log(lines.join('\n'))
console.log(
  `\n${machine.date} · ${machine.cpu}, ${machine.cores} cores, ${machine.ramGiB} GiB · Node ${machine.node} · ${machine.postgres}`,
)
