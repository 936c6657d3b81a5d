import type { WriteStream } from 'node:tty'

/** What a progress display needs: rows so far, and optionally the total for a percentage and an ETA. */
export interface ProgressDisplay {
  update(rows: number, batches: number): void
  /** Draws the final state and ends the line. */
  finish(rows: number, batches: number): void
}

export interface ProgressDisplayOptions {
  label: string
  /** Expected rows (e.g. from a `count(*)`); without it there is no percentage and no ETA. */
  total?: number
  stream?: NodeJS.WritableStream & Partial<Pick<WriteStream, 'isTTY' | 'columns'>>
  /** Minimum milliseconds between two plain (non-TTY) lines. */
  plainIntervalMs?: number
}

const formatInt = (n: number) => Math.round(n).toLocaleString('en-US')
const formatSeconds = (ms: number) =>
  ms >= 60_000 ? `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s` : `${(ms / 1000).toFixed(1)}s`

/**
 * A live progress bar with rows/s and ETA, redrawn in place, on a terminal; plain progress lines (at most
 * one per `plainIntervalMs`) when the output is a file or a pipe, so logs stay readable.
 *
 * @example
 * const progress = createProgressDisplay({ label: 'export', total: 100_000 })
 * for await (const batch of batches) { rows += batch.length; progress.update(rows, ++n) }
 * progress.finish(rows, n)
 */
export function createProgressDisplay(options: ProgressDisplayOptions): ProgressDisplay {
  const stream = options.stream ?? process.stderr
  const tty = stream.isTTY === true
  const started = performance.now()
  const plainIntervalMs = options.plainIntervalMs ?? 1000
  let lastDraw = 0

  const describe = (rows: number, batches: number) => {
    const elapsed = performance.now() - started
    const rate = elapsed > 0 ? (rows / elapsed) * 1000 : 0
    const parts = [
      `${formatInt(rows)}${options.total === undefined ? '' : `/${formatInt(options.total)}`} rows`,
      `${formatInt(rate)} rows/s`,
    ]
    if (!tty) parts.splice(1, 0, `${formatInt(batches)} batches`)
    let fraction: number | undefined
    if (options.total !== undefined && options.total > 0) {
      fraction = Math.min(1, rows / options.total)
      const eta = rate > 0 ? ((options.total - rows) / rate) * 1000 : Number.NaN
      parts.push(
        rows >= options.total
          ? `done in ${formatSeconds(elapsed)}`
          : `ETA ${Number.isFinite(eta) ? formatSeconds(eta) : '?'}`,
      )
    } else {
      parts.push(formatSeconds(elapsed))
    }
    return { fraction, text: parts.join(', ') }
  }

  const draw = (rows: number, batches: number, final: boolean) => {
    const now = performance.now()
    if (!final && now - lastDraw < (tty ? 80 : plainIntervalMs)) return
    lastDraw = now
    const { fraction, text } = describe(rows, batches)
    if (!tty) {
      stream.write(`${options.label}: ${fraction === undefined ? '' : `${(fraction * 100).toFixed(0)}% `}${text}\n`)
      return
    }
    const width = 24
    const bar =
      fraction === undefined
        ? ''
        : `[${'#'.repeat(Math.round(fraction * width)).padEnd(width, '.')}] ${(fraction * 100).toFixed(0).padStart(3)}% `
    const line = `${options.label} ${bar}${text}`
    const columns = stream.columns ?? 120
    stream.write(`\r${line.slice(0, columns - 1).padEnd(columns - 1)}${final ? '\n' : ''}`)
  }

  return {
    update: (rows, batches) => draw(rows, batches, false),
    finish: (rows, batches) => draw(rows, batches, true),
  }
}
