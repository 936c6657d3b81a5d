import type { MachineInfo } from './machine.ts'
import { parseWideModeName } from './modes/wide-common.ts'
import { formatCount as int, formatMs as ms, formatWholeMiB as mib, machineLines } from './report-format.ts'
import type { Measurement } from './runner.ts'
import { summarize } from './summary.ts'
import type { WideTableShape } from './wide-table.ts'

/** What `npm run bench:wide` measured, and against what. */
export interface WideReportInput {
  machine: MachineInfo
  shape: WideTableShape
  /** Complete rounds so far. */
  runs: number
  batchYieldSize: number
  /** The engine's defaults the default modes ran with. */
  defaults: { chunkSize: number; maxChunkBytes: number; prefetch: number }
  /** The goal for the default modes: every run's peak RSS at most this. */
  goalBytes: number
  /** Every mode's checksum must equal this (`expectedWideChecksum`). */
  expectedChecksum: number
  measurements: readonly Measurement[]
  modes: Record<string, { library: string; description: string }>
}

/** One wide mode's results: medians, the highest run's peak, and the checks. */
export interface WideModeSummary {
  mode: string
  library: string
  strategy: string
  bound: 'default' | 'unbounded'
  runs: number
  failures: string[]
  rows: number
  wallMs: number
  /** Payload read per second (MiB/s), from the median wall time. */
  mibPerSecond: number
  medianPeakRssBytes: number
  /** The highest peak RSS of any run: what the goal is judged by. */
  maxPeakRssBytes: number
  /** RSS after setup (connected, one entity loaded), median: the part of the peak that is not the iteration's. */
  setupRssBytes: number
  firstBatchMs: number
  /** Every successful run read every row (checksum as expected). */
  checksumOk: boolean
  /** Default modes: every run stayed at or under the goal (and none failed); unbounded modes: undefined. */
  metGoal: boolean | undefined
}

const libraryLabel: Record<string, string> = { typeorm: 'TypeORM', mikro: 'MikroORM' }

/** Summarizes the wide modes' measurements, in first-seen order. */
export function summarizeWide(
  input: Pick<WideReportInput, 'shape' | 'goalBytes' | 'expectedChecksum' | 'measurements'>,
): WideModeSummary[] {
  return summarize(input.measurements).map((s) => {
    const parsed = parseWideModeName(s.mode)
    const ok = input.measurements.flatMap((m) =>
      m.request.mode === s.mode && m.request.limit === s.limit && 'result' in m ? [m.result] : [],
    )
    const maxPeakRssBytes = ok.length ? Math.max(...ok.map((r) => r.maxRssBytes)) : Number.NaN
    const setup = ok.map((r) => r.setupRssBytes).sort((a, b) => a - b)
    const bound = parsed?.bound ?? 'default'
    return {
      mode: s.mode,
      library: libraryLabel[parsed?.library ?? ''] ?? '',
      strategy: parsed?.strategy ?? '',
      bound,
      runs: s.runs,
      failures: s.failures,
      rows: s.rows,
      wallMs: s.wallMs,
      mibPerSecond: ((s.rows * input.shape.width) / 2 ** 20 / s.wallMs) * 1000,
      medianPeakRssBytes: s.maxRssBytes,
      maxPeakRssBytes,
      setupRssBytes: setup.length ? setup[setup.length >> 1]! : Number.NaN,
      firstBatchMs: s.firstBatchMs,
      checksumOk:
        ok.length > 0 && ok.every((r) => r.checksum === input.expectedChecksum && r.rows === input.shape.rows),
      metGoal:
        bound === 'unbounded'
          ? undefined
          : ok.length > 0 && s.failures.length === 0 && maxPeakRssBytes <= input.goalBytes,
    }
  })
}

/** Bytes in the largest unit that fits, e.g. `1 MiB`, `64 KiB`, `31.3 MiB`, `1,000 bytes`. */
function bytesLabel(bytes: number): string {
  const inUnit = (unit: number, name: string) =>
    `${Number.isInteger(bytes / unit) ? bytes / unit : (bytes / unit).toFixed(1)} ${name}`
  return bytes >= 2 ** 20
    ? inUnit(2 ** 20, 'MiB')
    : bytes >= 1024 && bytes % 1024 === 0
      ? inUnit(1024, 'KiB')
      : `${int(bytes)} bytes`
}

const goalCell = (s: WideModeSummary, goal: string): string =>
  s.metGoal === undefined ? '— (not the defaults)' : s.metGoal ? `yes (≤ ${goal})` : `**no** (> ${goal})`

/** The title line's table description, e.g. `20,000 rows of 1 MiB`. */
export const describeShape = (shape: WideTableShape): string => `${int(shape.rows)} rows of ${bytesLabel(shape.width)}`

/** bench/results/wide.md: machine, versions, the full table, the checks, the modes and failures. */
export function renderWideMarkdown(input: WideReportInput): string {
  const summaries = summarizeWide(input)
  const goal = bytesLabel(input.goalBytes)
  const { defaults } = input
  const lines = [
    `# batchyield wide-row benchmark: ${describeShape(input.shape)} (\`wide_events\`)`,
    '',
    `Medians of ${input.runs} run(s) per mode, each run in a fresh Node process with Node's default flags, modes interleaved. ` +
      `batchYieldSize ${input.batchYieldSize}; everything else at the library's defaults (chunkSize ${defaults.chunkSize}, maxChunkBytes ${bytesLabel(defaults.maxChunkBytes)}, prefetch ${defaults.prefetch}), ` +
      'and the same four iterators with `maxChunkBytes: Infinity`, how they read before the byte bound. ' +
      `Goal: with the defaults, every iterator's peak RSS stays under ${goal}; judged by the highest run.`,
    '',
    ...machineLines(input.machine, []),
    '',
    `| Mode | Library | Strategy | maxChunkBytes | Rows | Wall time | MiB/s | Peak RSS | Peak RSS (highest run) | RSS after setup | First batch | Checksum | Peak ≤ ${goal} | Runs |`,
    '|---|---|---|---|--:|--:|--:|--:|--:|--:|--:|:-:|---|--:|',
    ...summaries.map((s) => {
      const runs = s.failures.length ? `${s.runs - s.failures.length}/${s.runs}` : `${s.runs}`
      const bound = s.bound === 'unbounded' ? '`Infinity`' : `default (${bytesLabel(defaults.maxChunkBytes)})`
      const checksum = s.runs === s.failures.length ? 'n/a' : s.checksumOk ? 'ok' : '**wrong**'
      return `| ${s.mode} | ${s.library} | ${s.strategy} | ${bound} | ${int(s.rows)} | ${ms(s.wallMs)} | ${int(s.mibPerSecond)} | ${mib(s.medianPeakRssBytes)} | ${mib(s.maxPeakRssBytes)} | ${mib(s.setupRssBytes)} | ${ms(s.firstBatchMs)} | ${checksum} | ${goalCell(s, goal)} | ${runs} |`
    }),
    '',
    `Peak RSS is the child process's kernel \`maxRSS\` (Node, the ORM and the job together), the median over runs and the highest run. ` +
      'RSS after setup: connected, ORM metadata built and one entity loaded, before the timed job. ' +
      `Checksum: the sum of the ids plus the sum of the payload lengths over every row received must be ${int(input.expectedChecksum)} in every run. ` +
      'First batch: from the start of the job to the first batch the loop receives.',
    '',
    `Why batchYieldSize ${input.batchYieldSize} and not the main benchmark's 500: a yielded batch is in memory whole while the loop works on it, ` +
      `so 500 entities of ${bytesLabel(input.shape.width)} would be a batch of ${bytesLabel(500 * input.shape.width)}, which no chunk bound can avoid. ` +
      "`maxChunkBytes` bounds what is read from the database per round trip (and read ahead); the batch size is the caller's to choose.",
    '',
    'Modes:',
    '',
    ...Object.entries(input.modes)
      .filter(([name]) => summaries.some((s) => s.mode === name))
      .map(([name, mode]) => `- \`${name}\`: ${mode.description}`),
    '',
  ]
  const failed = summaries.filter((s) => s.failures.length)
  if (failed.length) {
    lines.push('## Failures', '')
    for (const s of failed) lines.push(`- ${s.mode}: ${s.failures[0]!.replace(/\s+/g, ' ').slice(0, 400)}`)
    lines.push('')
  }
  return lines.join('\n')
}

/** A paragraph hard-wrapped at `width` characters, as the root README's prose is. */
function wrapParagraph(text: string, width = 105): string {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else line = line ? `${line} ${word}` : word
  }
  return [...lines, line].join('\n')
}

/**
 * The root README's "Wide rows" section: each adapter and strategy with the defaults against
 * `maxChunkBytes: Infinity`, peak RSS (highest run) and wall time, and whether the goal was met.
 */
export function renderWideReadmeSection(input: WideReportInput): string {
  const summaries = summarizeWide(input)
  const goal = bytesLabel(input.goalBytes)
  const { machine } = input
  const pairs = summaries.filter((s) => s.bound === 'default')
  const unboundedOf = (s: WideModeSummary) =>
    summaries.find((u) => u.bound === 'unbounded' && u.library === s.library && u.strategy === s.strategy)
  const peak = (s: WideModeSummary | undefined) =>
    s === undefined ? 'not run' : s.runs === s.failures.length ? 'failed' : mib(s.maxPeakRssBytes)
  const wall = (s: WideModeSummary | undefined) =>
    s === undefined || s.runs === s.failures.length ? '—' : ms(s.wallMs)
  return [
    '### Wide rows: memory',
    '',
    wrapParagraph(
      `\`npm run bench:wide\` reads \`wide_events\`, ${describeShape(input.shape)} (an \`integer\` id and a \`text\` payload), ` +
        `with each adapter and strategy: batchYieldSize ${input.batchYieldSize}, everything else at its default (chunkSize ${input.defaults.chunkSize}, ` +
        `maxChunkBytes ${bytesLabel(input.defaults.maxChunkBytes)}), then with \`maxChunkBytes: Infinity\`, how it read before the byte bound. ` +
        `Each run in its own Node process with Node's defaults, interleaved, ${input.runs} run${input.runs === 1 ? '' : 's'} each; peak RSS of the highest run, median wall time. ` +
        `Goal: with the defaults, under ${goal}. ` +
        `Measured ${machine.date.slice(0, 10)}, ${machine.cpu} (${machine.cores} cores, ${machine.ramGiB} GiB), Node ${machine.node}. ` +
        'Full table: [bench/results/wide.md](bench/results/wide.md).',
    ),
    '',
    `| iterator | peak RSS, defaults | wall time | under ${goal} | peak RSS, \`maxChunkBytes: Infinity\` | wall time |`,
    '| --- | --: | --: | :-: | --: | --: |',
    ...pairs.map((s) => {
      const u = unboundedOf(s)
      const met = s.metGoal === undefined ? '—' : s.metGoal ? 'yes' : '**no**'
      const name =
        s.library === 'TypeORM' ? `TypeORM \`aiterator\` ${s.strategy}` : `MikroORM \`em.aiterator\` ${s.strategy}`
      return `| ${name} | ${peak(s)} | ${wall(s)} | ${met} | ${peak(u)} | ${wall(u)} |`
    }),
    '',
    wrapParagraph(
      `batchYieldSize ${input.batchYieldSize}, not 500: a yielded batch is in memory whole while the loop works on it, and 500 entities of ` +
        `${bytesLabel(input.shape.width)} are ${bytesLabel(500 * input.shape.width)} whatever the chunk size. \`maxChunkBytes\` bounds what is read per round trip and read ahead; the batch is yours.`,
    ),
  ].join('\n')
}
