import type { MachineInfo } from './machine.ts'
import { formatCount as int, formatMs as ms, formatWholeMiB as mib, machineLines } from './report-format.ts'
import type { SoakRequest, SoakResult, SoakSession } from './soak-checks.ts'
import { median } from './stats.ts'

/** One adapter × strategy of a soak: its result and failed checks, or why its process produced none. */
export type SoakRun =
  | { request: SoakRequest; result: SoakResult; failures: string[] }
  | { request: SoakRequest; error: string; failures: string[] }

export interface SoakReportInput {
  machine: MachineInfo
  tableRows: number
  concurrency: number
  poolMax: number
  chunkSize: number
  batchYieldSize: number
  nodeArgs: readonly string[]
  runs: readonly SoakRun[]
}

const library = { typeorm: 'TypeORM', 'mikro-orm': 'MikroORM' } as const

function sessionStates(sessions: readonly SoakSession[]): string {
  if (sessions.length === 0) return 'none'
  const counts = new Map<string, number>()
  for (const s of sessions) {
    const state = s.inTransaction && !s.state.includes('transaction') ? `${s.state} (in a transaction)` : s.state
    counts.set(state, (counts.get(state) ?? 0) + 1)
  }
  return [...counts].map(([state, count]) => `${count} ${state}`).join(', ')
}

/** Rows read by all the loops of a run together. */
export const readRows = (result: SoakResult): number => result.iterations.reduce((sum, it) => sum + it.rows, 0)

/** Rows/s of the one-loop run of the same adapter and strategy, if there is one that passed. */
function oneLoopRowsPerSecond(runs: readonly SoakRun[], like: SoakRequest): number | undefined {
  const alone = runs.find(
    (run) =>
      run.request.adapter === like.adapter && run.request.strategy === like.strategy && run.request.concurrency === 1,
  )
  return alone && 'result' in alone && alone.failures.length === 0
    ? (readRows(alone.result) / alone.result.wallMs) * 1000
    : undefined
}

/**
 * Renders a soak's results as Markdown: what ran, machine and versions, one row per adapter and strategy,
 * then every failed check (or that all passed).
 *
 * @example
 * await writeFile('bench/results/soak.md', renderSoakMarkdown({ machine, tableRows: 1_000_000, concurrency: 8, … }))
 */
export function renderSoakMarkdown(input: SoakReportInput): string {
  const passed = input.runs.every((run) => run.failures.length === 0)
  const lines = [
    `# batchyield soak: ${input.concurrency} concurrent iterations over ${input.tableRows.toLocaleString('en-US')} rows of \`events\` on one pool`,
    '',
    `Each adapter and strategy runs in its own Node process: one pool of at most ${input.poolMax} connections, ${input.concurrency} \`aiterator\` loops started together (\`Loops\` 1: the same, one loop alone, in a process of its own just before, as the yardstick), each over the whole table (batchYieldSize ${input.batchYieldSize}, chunkSize ${input.chunkSize}, default prefetch). Every loop tallies the ids it receives in a bitset and must see each row exactly once: no repeats, as many distinct ids as \`count(*)\`, and the same \`sum(id)\`.`,
    '',
    ...machineLines(input.machine, input.nodeArgs),
    '',
    '| Adapter | Strategy | Loops | Rows read (all loops) | Wall time | Rows/s (all loops) | vs one loop | Iteration min / median / max | CPU time | GC pauses | Peak RSS | Connections open at peak | Callers waiting at peak | Pool at end: open / idle / waiting | Soak sessions at end | After close | Checks |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|---|:-:|',
  ]
  for (const run of input.runs) {
    const head = `| ${library[run.request.adapter]} | ${run.request.strategy} | ${run.request.concurrency}`
    if ('error' in run) {
      lines.push(`${head} | ${'n/a | '.repeat(13)}**failed** |`)
      continue
    }
    const r = run.result
    const rows = readRows(r)
    const times = r.iterations.map((it) => it.wallMs)
    const spread = times.length ? `${ms(Math.min(...times))} / ${ms(median(times))} / ${ms(Math.max(...times))}` : 'n/a'
    const pool = `${r.poolAtEnd.total} / ${r.poolAtEnd.idle} / ${r.poolAtEnd.waiting}`
    const rowsPerSecond = (rows / r.wallMs) * 1000
    const alone = run.request.concurrency > 1 ? oneLoopRowsPerSecond(input.runs, run.request) : undefined
    const vsAlone = alone === undefined ? '—' : `${(rowsPerSecond / alone).toFixed(2)}x`
    lines.push(
      `${head} | ${int(rows)} | ${ms(r.wallMs)} | ${int(rowsPerSecond)} | ${vsAlone} | ${spread} | ${ms(r.cpuMs)} | ${ms(r.gcMs)} | ${mib(r.maxRssBytes)} | ${r.poolPeak.total} | ${r.poolPeak.waiting} | ${pool} | ${sessionStates(r.sessionsAtEnd)} | ${sessionStates(r.sessionsAfterClose)} | ${run.failures.length ? '**failed**' : 'passed'} |`,
    )
  }
  lines.push(
    '',
    "Wall time: from starting the loops until the last one ended (connecting and one warm-up query are not timed). Rows/s: rows read by all loops together over that time; vs one loop: that over the rows/s of one loop alone. CPU time: user + system time of the process over the wall time (above the wall time when V8's helper threads work in parallel); GC pauses: V8's garbage-collection pauses over the same span. Peak RSS: the process's kernel `maxRSS`. Connections and waiting callers at peak: the pool's counters sampled every 10 ms. Pool at end: node-postgres' `totalCount` / `idleCount` / `waitingCount` once the loops ended; soak sessions: `pg_stat_activity` rows with the run's own `application_name`, before and after closing the pool.",
    '',
    '## Checks',
    '',
  )
  if (passed) {
    lines.push(
      `All passed: every loop saw every row exactly once, every pool ended with all its connections idle and nobody waiting, no soak session was left active or in a transaction, and none stayed connected after the pool closed.`,
      '',
    )
  }
  for (const run of input.runs) {
    if (run.failures.length === 0) continue
    lines.push(`- ${library[run.request.adapter]} ${run.request.strategy}, ${run.request.concurrency} loop(s):`)
    for (const failure of run.failures.slice(0, 20)) lines.push(`  - ${failure.replace(/\s+/g, ' ').slice(0, 400)}`)
    if (run.failures.length > 20) lines.push(`  - … and ${run.failures.length - 20} more (see soak.json)`)
  }
  if (!passed) lines.push('')
  return lines.join('\n')
}
