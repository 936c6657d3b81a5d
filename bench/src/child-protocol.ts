import type { ModeConfig } from './modes/mode.ts'

/** What the parent asks a child process to measure. */
export interface ChildRequest extends ModeConfig {
  mode: string
  /**
   * Leak check (needs `--expose-gc`): every this many rows, force a full GC and record the live heap.
   * Perturbs timing, so such runs are reported apart from the timed ones.
   */
  liveHeapEvery?: number
}

/** What a child process measured, printed as one line prefixed with {@link resultPrefix}. */
export interface ChildResult {
  mode: string
  rows: number
  batches: number
  wallMs: number
  firstBatchMs: number
  /** The kernel's peak resident set size of the child process (includes Node and the libraries). */
  maxRssBytes: number
  sampledPeakRssBytes: number
  /** RSS after connecting, before the job: the part of the peak that is not the job's. */
  setupRssBytes: number
  /**
   * Sum of `quantity` over every row read (the wide modes: of `id` plus the payload's length): proves the
   * consumer touched every entity, and must agree across modes.
   */
  checksum: number
  /** The adapter's paths the run took (see `PreparedJob.paths`), for the modes that report them. */
  paths?: Readonly<Record<string, string>>
  /** With `liveHeapEvery`: `[rows, heapUsed after a full GC]` pairs. */
  liveHeap?: [number, number][]
}

export const resultPrefix = 'BENCH_RESULT '

/** Prefix of the line a child prints when its mode throws: the error's message and stack head. */
export const errorPrefix = 'BENCH_ERROR '

/**
 * Makes an uncaught error end this child process with one {@link errorPrefix} line (name, message, code) on
 * stdout and exit code 1, which the parent turns into a failed measurement naming it.
 *
 * @example
 * reportUncaughtErrors()
 * await mode.prepare(request) // a connection refused ends the process as `BENCH_ERROR "Error: … ECONNREFUSED"`
 */
export function reportUncaughtErrors(): void {
  process.on('uncaughtException', (error) => {
    const text =
      error instanceof Error
        ? `${error.name}: ${error.message} ${String((error as { code?: unknown }).code ?? '')}`.trim()
        : String(error)
    process.stdout.write(`${errorPrefix}${JSON.stringify(text)}\n`)
    process.exit(1)
  })
}
