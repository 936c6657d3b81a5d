import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { errorPrefix, resultPrefix, type ChildRequest, type ChildResult } from './child-protocol.ts'

const childScript = fileURLToPath(new URL('./child.ts', import.meta.url))

/** One child run: its result, or why it produced none (a crash, an out-of-memory kill, a timeout). */
export type Measurement =
  { request: ChildRequest; run: number; result: ChildResult } | { request: ChildRequest; run: number; error: string }

export interface RunChildOptions {
  /** Flags for the child's `node` (default: this process's own flags). */
  nodeArgs?: readonly string[]
  timeoutMs?: number
}

/** Runs one mode once in a fresh Node process (same binary, same flags) and parses its result line. */
export function runChild(request: ChildRequest, options: RunChildOptions = {}): Promise<ChildResult> {
  return runNodeScript<ChildResult>(childScript, request, `mode ${JSON.stringify(request.mode)}`, options)
}

/**
 * Runs `script` in a fresh Node process (same binary; `options.nodeArgs`, default this process's flags) with
 * `request` as its JSON argument, and resolves with the JSON of the line it prints after {@link resultPrefix}.
 * Rejects with `<label> failed (<exit code or signal>): <the BENCH_ERROR line or the end of stderr>`.
 *
 * @example
 * const result = await runNodeScript<SoakResult>(soakChildScript, request, 'soak typeorm keyset')
 */
export function runNodeScript<Result>(
  script: string,
  request: unknown,
  label: string,
  options: RunChildOptions = {},
): Promise<Result> {
  const nodeArgs = options.nodeArgs ?? process.execArgv
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, script, JSON.stringify(request)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 30 * 60_000,
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text))
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr = (stderr + text).slice(-4000)))
    child.on('error', reject)
    child.on('close', (code, signal) => {
      const line = stdout.split('\n').find((l) => l.startsWith(resultPrefix))
      if (code === 0 && line !== undefined) {
        resolve(JSON.parse(line.slice(resultPrefix.length)) as Result)
        return
      }
      const why = signal === null ? `exit code ${code}` : `signal ${signal}`
      const errorLine = stdout.split('\n').find((l) => l.startsWith(errorPrefix))
      const detail =
        errorLine === undefined
          ? stderr.trim().split('\n').slice(-6).join('\n')
          : (JSON.parse(errorLine.slice(errorPrefix.length)) as string)
      reject(new Error(`${label} failed (${why}): ${detail}`))
    })
  })
}

export interface InterleavedPlan {
  requests: readonly ChildRequest[]
  runs: number
  /** The same options for every child, or options per request (the whole-table baselines get a larger heap). */
  childOptions?: RunChildOptions | ((request: ChildRequest) => RunChildOptions)
  onMeasurement?: (measurement: Measurement) => void
}

/**
 * Runs every request `runs` times, one process at a time, interleaved (run 1 of every mode, then run 2, …)
 * and rotating the starting mode each round, so slow drift on the machine (other load, cache warmth) is
 * spread across modes instead of landing on whichever ran last.
 */
export async function runInterleaved(plan: InterleavedPlan): Promise<Measurement[]> {
  const measurements: Measurement[] = []
  const count = plan.requests.length
  for (let run = 1; run <= plan.runs; run += 1) {
    for (let i = 0; i < count; i += 1) {
      const request = plan.requests[(i + run - 1) % count]!
      let measurement: Measurement | undefined
      for (let attempt = 1; measurement === undefined; attempt += 1) {
        try {
          const options = typeof plan.childOptions === 'function' ? plan.childOptions(request) : plan.childOptions
          measurement = { request, run, result: await runChild(request, options) }
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error)
          // A workspace package rebuilding (tsdown cleans dist/ first) is not the mode's fault: wait and retry.
          if (attempt < 4 && message.includes('ERR_MODULE_NOT_FOUND')) {
            await new Promise((resolve) => setTimeout(resolve, 5000))
            continue
          }
          measurement = { request, run, error: message }
        }
      }
      measurements.push(measurement)
      plan.onMeasurement?.(measurement)
    }
  }
  return measurements
}

/**
 * `requests` with `baseline` also run before every `every` other requests, so a round samples it
 * throughout instead of once. The baseline is the denominator of every ratio: a single run of it
 * during a noisy minute would move them all; its median over the spread samples does not.
 *
 * @example
 * withBaselineThroughout([floor, a, b, c, d], 'floor', 2) // [floor, a, b, floor, c, d]
 */
export function withBaselineThroughout(
  requests: readonly ChildRequest[],
  baseline: string,
  every: number,
): ChildRequest[] {
  const base = requests.find((request) => request.mode === baseline && request.limit === undefined)
  if (base === undefined) return [...requests]
  const others = requests.filter((request) => request !== base)
  const spread: ChildRequest[] = []
  others.forEach((request, i) => {
    if (i % every === 0) spread.push(base)
    spread.push(request)
  })
  return spread.length === 0 ? [base] : spread
}
