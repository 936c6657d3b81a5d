import type { ChildResult } from './child-protocol.ts'
import type { Measurement } from './runner.ts'
import { median } from './stats.ts'

/** The medians of one mode (at one scale) over its successful runs. */
export interface ModeSummary {
  /** Mode name, plus ` @<rows>` when measured with a row limit. */
  label: string
  mode: string
  limit: number | undefined
  runs: number
  failures: string[]
  rows: number
  wallMs: number
  rowsPerSecond: number
  maxRssBytes: number
  firstBatchMs: number
  checksum: number | undefined
  /** The adapter's paths the runs took (`keyset fast`, …; several when runs differed), for the modes that report them. */
  paths: string | undefined
}

export function labelOf(mode: string, limit: number | undefined): string {
  return limit === undefined ? mode : `${mode} @${limit >= 1000 && limit % 1000 === 0 ? `${limit / 1000}k` : limit}`
}

function pathsOf(results: readonly ChildResult[]): string | undefined {
  const seen = new Set(
    results.flatMap((r) =>
      r.paths === undefined
        ? []
        : [
            Object.entries(r.paths)
              .map(([strategy, path]) => `${strategy} ${path}`)
              .join(', '),
          ],
    ),
  )
  return seen.size === 0 ? undefined : [...seen].join(' / ')
}

/** Groups measurements by mode and scale, in first-seen order, and takes medians. */
export function summarize(measurements: readonly Measurement[]): ModeSummary[] {
  const groups = new Map<string, Measurement[]>()
  for (const m of measurements) {
    const label = labelOf(m.request.mode, m.request.limit)
    groups.set(label, [...(groups.get(label) ?? []), m])
  }
  return [...groups].map(([label, group]) => {
    const ok = group.flatMap((m) => ('result' in m ? [m.result] : []))
    const failures = group.flatMap((m) => ('error' in m ? [m.error] : []))
    const first = group[0]!.request
    const wallMs = ok.length ? median(ok.map((r) => r.wallMs)) : Number.NaN
    const rows = ok.length ? median(ok.map((r) => r.rows)) : Number.NaN
    return {
      label,
      mode: first.mode,
      limit: first.limit,
      runs: group.length,
      failures,
      rows,
      wallMs,
      rowsPerSecond: (rows / wallMs) * 1000,
      maxRssBytes: ok.length ? median(ok.map((r) => r.maxRssBytes)) : Number.NaN,
      firstBatchMs: ok.length ? median(ok.map((r) => r.firstBatchMs)) : Number.NaN,
      checksum: ok[0]?.checksum,
      paths: pathsOf(ok),
    }
  })
}
