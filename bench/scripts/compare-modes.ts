/**
 * Quick A/B of a few modes at a row limit: each mode in its own process, interleaved, medians.
 *   npx node bench/scripts/compare-modes.ts <rows> <runs> <mode>…   (events table: BENCH_URL or batchyield_bench)
 * Takes the bench lock's place for short checks while working on an adapter; `npm run bench` is the record.
 */
import { runChild } from '../src/runner.ts'

const url = process.env.BENCH_URL ?? 'postgres://postgres@127.0.0.1:5432/batchyield_bench'
const [rowsArg, runsArg, ...modes] = process.argv.slice(2)
const limit = Number(rowsArg)
const runs = Number(runsArg)
const walls = new Map<string, number[]>(modes.map((m) => [m, []]))
const firsts = new Map<string, number[]>(modes.map((m) => [m, []]))
const peaks = new Map<string, number[]>(modes.map((m) => [m, []]))
for (let run = 0; run < runs; run++) {
  for (const mode of modes) {
    const r = await runChild({ mode, url, chunkSize: 2000, batchYieldSize: 500, limit })
    walls.get(mode)!.push(r.wallMs)
    firsts.get(mode)!.push(r.firstBatchMs)
    peaks.get(mode)!.push(r.maxRssBytes / 2 ** 20)
  }
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
for (const mode of modes) {
  const runs = walls
    .get(mode)!
    .map((w) => w.toFixed(0))
    .join(' ')
  const wall = median(walls.get(mode)!).toFixed(0).padStart(6)
  const first = median(firsts.get(mode)!).toFixed(1)
  const peak = median(peaks.get(mode)!).toFixed(0)
  console.log(`${mode.padEnd(32)} median ${wall} ms  first ${first} ms  peak RSS ${peak} MiB  runs ${runs}`)
}
