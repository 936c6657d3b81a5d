/**
 * `npm run soak`: many concurrent `aiterator` loops over the whole of `events` on one pool per adapter,
 * each adapter (and strategy) in its own process; checks every row arrives exactly once in every loop,
 * the pool ends idle and no session is left behind, and writes bench/results/soak.{md,json}.
 * Exits 1 when a check fails. `--help` lists the options.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseCommandLine, positiveInteger } from './cli-options.ts'
import { ensureBenchDatabase, ensureEventsRowsLogged } from './events-table.ts'
import { describeMachine } from './machine.ts'
import { runNodeScript } from './runner.ts'
import { type SoakAdapter, soakFailures, type SoakRequest, type SoakResult, type SoakStrategy } from './soak-checks.ts'
import { readRows, renderSoakMarkdown, type SoakRun } from './soak-report.ts'

const help = `Usage: npm run soak -- [options]

Seeds the fixture table \`events\` with N rows (skipped when it already holds exactly those rows), then for
each adapter and strategy starts one Node process that opens ONE pool and runs --concurrency aiterator
loops at once (after a process that runs one loop alone, for comparison), each over the whole table, each
checking that it sees every row exactly once (a bitset of ids, count and sum(id) against the table). Then it checks the pool ended idle (node-postgres' counters)
and that no session with the run's application_name is left active or in a transaction (pg_stat_activity),
or connected after the pool closed. Writes bench/results/soak.md and soak.json; exits 1 if a check failed.

Options:
  --rows N          rows in \`events\` (default 1000000)
  --concurrency N   loops at once on the one pool (default 8)
  --adapters LIST   typeorm, mikro-orm or both, comma-separated (default typeorm,mikro-orm)
  --strategy S      keyset, cursor or both (default keyset)
  --pool-max N      most connections of the pool (default 10)
  --chunk-size N    rows per round trip (default 2000)
  --batch-size N    entities per yielded batch (default 500)
  --url URL         PostgreSQL database to use as is (default: database "batchyield_bench" on the server
                    of DATABASE_URL, or postgres://postgres@127.0.0.1:5432, created when missing).
                    A --rows other than what the table holds reseeds it: give small runs their own --url.
  --out DIR         where to write soak.md and soak.json (default bench/results)
  --no-baseline     skip the run of one loop alone that precedes each concurrent run (its rows/s is the
                    yardstick for the concurrent run's)
  -h, --help        show this help
`

const adapterNames: readonly SoakAdapter[] = ['typeorm', 'mikro-orm']

function listOption<T extends string>(option: string, text: string, accepted: readonly T[]): T[] {
  const items = text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
  const unknown = items.filter((item) => !accepted.includes(item as T))
  if (unknown.length || items.length === 0) {
    throw new TypeError(
      `--${option} accepts ${accepted.join(', ')} (comma-separated), received ${JSON.stringify(text)}`,
    )
  }
  return accepted.filter((name) => items.includes(name))
}

const values = parseCommandLine(help, {
  rows: { type: 'string' },
  concurrency: { type: 'string' },
  adapters: { type: 'string' },
  strategy: { type: 'string' },
  'pool-max': { type: 'string' },
  'chunk-size': { type: 'string' },
  'batch-size': { type: 'string' },
  url: { type: 'string' },
  out: { type: 'string' },
  'no-baseline': { type: 'boolean' },
})

const rows = positiveInteger('rows', values.rows, 1_000_000)
const concurrency = positiveInteger('concurrency', values.concurrency, 8)
const poolMax = positiveInteger('pool-max', values['pool-max'], 10)
const chunkSize = positiveInteger('chunk-size', values['chunk-size'], 2000)
const batchYieldSize = positiveInteger('batch-size', values['batch-size'], 500)
const adapters = listOption('adapters', values.adapters ?? 'typeorm,mikro-orm', adapterNames)
const strategyText = values.strategy ?? 'keyset'
const strategies: SoakStrategy[] =
  strategyText === 'both' ? ['keyset', 'cursor'] : listOption('strategy', strategyText, ['keyset', 'cursor'] as const)
const outDir = values.out ?? fileURLToPath(new URL('../results/', import.meta.url))
const soakChildScript = fileURLToPath(new URL('./soak-child.ts', import.meta.url))

const url = values.url ?? (await ensureBenchDatabase())
const log = (line: string) => process.stderr.write(`${line}\n`)

log(
  `soak: ${concurrency} concurrent iterations over ${rows.toLocaleString('en-US')} rows, pool max ${poolMax}, adapters: ${adapters.join(', ')}, strategy: ${strategies.join(', ')}`,
)
await ensureEventsRowsLogged(url, rows, log)
const machine = await describeMachine(url)
const nodeArgs = process.execArgv

// One loop alone first (same process setup, same moment), so the concurrent run's throughput has a yardstick.
const loopCounts = concurrency > 1 && !values['no-baseline'] ? [1, concurrency] : [concurrency]
const runs: SoakRun[] = []
for (const adapter of adapters) {
  for (const strategy of strategies) {
    for (const loops of loopCounts) {
      const label = `${adapter} ${strategy} x${loops}`
      // Named per run so pg_stat_activity tells this run's sessions from any other client's (63 bytes at most).
      const applicationName = `batchyield-soak-${process.pid}-${adapter}-${strategy}-${loops}`
      const request: SoakRequest = {
        adapter,
        strategy,
        url,
        concurrency: loops,
        poolMax,
        chunkSize,
        batchYieldSize,
        applicationName,
      }
      try {
        const result = await runNodeScript<SoakResult>(soakChildScript, request, `soak ${label}`, { nodeArgs })
        const failures = soakFailures(result)
        runs.push({ request, result, failures })
        const read = readRows(result)
        log(
          `  ${label}: ${read.toLocaleString('en-US')} rows in ${(result.wallMs / 1000).toFixed(1)} s, ${Math.round((read / result.wallMs) * 1000).toLocaleString('en-US')} rows/s, peak ${Math.round(result.maxRssBytes / 2 ** 20)} MiB, pool ${result.poolAtEnd.idle}/${result.poolAtEnd.total} idle: ${failures.length ? `FAILED (${failures.length} check(s))` : 'checks passed'}`,
        )
        for (const failure of failures.slice(0, 5)) log(`    ${failure}`)
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error)
        runs.push({ request, error: message, failures: [message] })
        log(`  ${label}: FAILED ${message.split('\n')[0]}`)
      }
    }
  }
}

const markdown = renderSoakMarkdown({
  machine,
  tableRows: rows,
  concurrency,
  poolMax,
  chunkSize,
  batchYieldSize,
  nodeArgs,
  runs,
})
const passed = runs.every((run) => run.failures.length === 0)
await mkdir(outDir, { recursive: true })
await writeFile(join(outDir, 'soak.md'), markdown)
await writeFile(
  join(outDir, 'soak.json'),
  `${JSON.stringify({ machine, rows, concurrency, poolMax, chunkSize, batchYieldSize, nodeArgs, passed, runs }, null, 2)}\n`,
)
process.stdout.write(`${markdown}\n`)
log(`wrote ${join(outDir, 'soak.md')}, soak.json: ${passed ? 'all checks passed' : 'CHECKS FAILED'}`)
if (!passed) process.exitCode = 1
