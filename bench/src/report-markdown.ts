import type { BarCheck } from './bar-check.ts'
import type { MachineInfo } from './machine.ts'
import { formatCount as int, formatMs as ms, formatWholeMiB as mib, machineLines } from './report-format.ts'
import type { ModeSummary } from './summary.ts'

export interface ReportInput {
  machine: MachineInfo
  tableRows: number
  runs: number
  chunkSize: number
  batchYieldSize: number
  /** Each mode's child-process flags (the whole-table baselines run with a larger heap than the rest). */
  childNodeArgs: Record<string, readonly string[]>
  summaries: readonly ModeSummary[]
  bar: readonly BarCheck[]
  modes: Record<string, { library: string; description: string }>
  /** Leak check: live heap after forced GCs along one extra run of each streaming mode. */
  liveHeap?: readonly { mode: string; samples: readonly [number, number][] }[]
  /** The floor also ran before every this many other processes of a round (see withBaselineThroughout). */
  floorEvery?: number
}

/**
 * `- Child flags: …`: each set of Node flags with the modes that ran with it, so a flag given to a few
 * modes cannot pass for the whole run's. Node's defaults (else the most common set) read "every other mode".
 */
function childFlagsLine(byMode: Record<string, readonly string[]>, modes: readonly string[]): string {
  const groups = new Map<string, string[]>()
  for (const mode of modes) {
    const flags = (byMode[mode] ?? []).join(' ')
    groups.set(flags, [...(groups.get(flags) ?? []), mode])
  }
  const show = (flags: string) => (flags ? `\`${flags}\`` : "Node's defaults")
  const rest = groups.has('') ? '' : ([...groups].sort((a, b) => b[1].length - a[1].length)[0]?.[0] ?? '')
  if (groups.size <= 1) return `- Child flags: ${show(rest)} for every mode`
  const listed = [...groups]
    .filter(([flags]) => flags !== rest)
    .map(([flags, names]) => `${show(flags)} for ${names.map((n) => `\`${n}\``).join(', ')}`)
  return `- Child flags: ${[...listed, `${show(rest)} for every other mode`].join('; ')}`
}

/**
 * For each `…-public` mode measured beside its fast counterpart (the same name without `-public`, same
 * scale): what the public paths cost, as ratios of wall time and peak RSS. Empty without such pairs.
 */
function publicPathLines(summaries: readonly ModeSummary[]): string[] {
  const lines = summaries.flatMap((pub) => {
    if (!pub.mode.endsWith('-public')) return []
    const fast = summaries.find((s) => s.mode === pub.mode.slice(0, -'-public'.length) && s.limit === pub.limit)
    if (fast === undefined || !Number.isFinite(pub.wallMs) || !Number.isFinite(fast.wallMs)) return []
    return [
      `- ${pub.label} against ${fast.label}${fast.paths ? ` (${fast.paths})` : ''}: wall time ${(pub.wallMs / fast.wallMs).toFixed(2)}x, peak RSS ${(pub.maxRssBytes / fast.maxRssBytes).toFixed(2)}x`,
    ]
  })
  return lines.length ? ['Public paths against the fast paths, same run:', '', ...lines, ''] : []
}

/** Renders the results as Markdown: machine and versions, the medians table, the bar, failures. */
export function renderMarkdown(input: ReportInput): string {
  const { machine } = input
  const floor = input.summaries.find((s) => s.mode === 'floor' && s.limit === undefined)
  const lines = [
    `# batchyield benchmark: ${input.tableRows.toLocaleString('en-US')} rows of \`events\``,
    '',
    `Medians of ${input.runs} run(s) per mode, each run in a fresh Node process, modes interleaved. chunkSize ${input.chunkSize}, batchYieldSize ${input.batchYieldSize}.` +
      (floor !== undefined && floor.runs > input.runs && input.floorEvery !== undefined
        ? ` The floor, the denominator of every ratio, runs once every ${input.floorEvery} processes of each round (${floor.runs} runs in all), so one noisy minute does not move every ratio.`
        : ''),
    '',
    ...machineLines(machine, []),
    childFlagsLine(input.childNodeArgs, [...new Set(input.summaries.map((s) => s.mode))]),
    '',
    '| Mode | Library | Paths | Rows | Wall time | Rows/s | Peak RSS | First batch | vs floor | Runs |',
    '|---|---|---|--:|--:|--:|--:|--:|--:|--:|',
    ...input.summaries.map((s) => {
      const vsFloor = floor && Number.isFinite(s.wallMs) ? `${(s.wallMs / floor.wallMs).toFixed(2)}x` : 'n/a'
      const runs = s.failures.length ? `${s.runs - s.failures.length}/${s.runs}` : `${s.runs}`
      return `| ${s.label} | ${input.modes[s.mode]?.library ?? ''} | ${s.paths ?? ''} | ${int(s.rows)} | ${ms(s.wallMs)} | ${int(s.rowsPerSecond)} | ${mib(s.maxRssBytes)} | ${ms(s.firstBatchMs)} | ${vsFloor} | ${runs} |`
    }),
    '',
    ...publicPathLines(input.summaries),
    "Peak RSS is the child process's kernel `maxRSS` (Node, the ORM and the job together). First batch: time from the start of the job to the first batch, page, chunk or entity the consumer receives (for `getMany`/`em.find`, the whole result). Not timed: starting Node, connecting, and one warm-up query that loads a single entity through the ORM (so every mode starts with the ORM query and hydration code already compiled).",
    '',
    'Modes:',
    '',
    ...Object.entries(input.modes)
      .filter(([name]) => input.summaries.some((s) => s.mode === name))
      .map(([name, mode]) => `- \`${name}\`: ${mode.description}`),
    '',
  ]
  if (input.bar.length) {
    lines.push('## The bar (issue 5)', '', '| Criterion | Measured | Met |', '|---|--:|:-:|')
    for (const check of input.bar)
      lines.push(
        `| ${check.criterion} | ${check.measured} | ${check.met === undefined ? '—' : check.met ? 'yes' : '**no**'} |`,
      )
    lines.push('')
  }
  if (input.liveHeap?.length) {
    lines.push(
      '## Live heap after a forced GC (leak check)',
      '',
      'One extra run per streaming mode with `--expose-gc`: a full GC every tenth of the rows, then `heapUsed`. What survives a full GC is what the iteration retains; RSS above it is V8 sizing its heap. Not timed.',
      '',
      '| Mode | Live heap at first sample | Live heap at the end | Growth per 100,000 rows |',
      '|---|--:|--:|--:|',
    )
    for (const { mode, samples } of input.liveHeap) {
      const first = samples[0]
      const last = samples.at(-1)
      if (first === undefined || last === undefined) {
        lines.push(`| ${mode} | n/a | n/a | n/a |`)
        continue
      }
      const growth = last[0] > first[0] ? ((last[1] - first[1]) / (last[0] - first[0])) * 100_000 : 0
      lines.push(
        `| ${mode} | ${mib(first[1])} (${int(first[0])} rows) | ${mib(last[1])} (${int(last[0])} rows) | ${(growth / 1024 / 1024).toFixed(1)} MiB |`,
      )
    }
    lines.push('')
  }
  const failed = input.summaries.filter((s) => s.failures.length)
  if (failed.length) {
    lines.push('## Failures', '')
    for (const s of failed) lines.push(`- ${s.label}: ${s.failures[0]!.replace(/\s+/g, ' ').slice(0, 400)}`)
    lines.push('')
  }
  return lines.join('\n')
}
