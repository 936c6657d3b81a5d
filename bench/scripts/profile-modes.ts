/**
 * Where the time goes: runs modes once each with V8's CPU profiler and prints self time by package and
 * the hottest functions (whole child process, setup included).
 *   npx node bench/scripts/profile-modes.ts <mode> [<mode> …]   (events table: BENCH_URL or batchyield_bench)
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { runChild } from '../src/runner.ts'

const url = process.env.BENCH_URL ?? 'postgres://postgres@127.0.0.1:5432/batchyield_bench'
for (const mode of process.argv.slice(2)) {
  rmSync(`/tmp/batchyield-prof/${mode}`, { recursive: true, force: true })
  const r = await runChild(
    { mode, url, chunkSize: 2000, batchYieldSize: 500 },
    { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=/tmp/batchyield-prof/${mode}`] },
  )
  console.log(mode, r.wallMs.toFixed(0), 'ms')
  const file = readdirSync(`/tmp/batchyield-prof/${mode}`)[0]!
  const prof = JSON.parse(readFileSync(`/tmp/batchyield-prof/${mode}/${file}`, 'utf8'))
  const self = new Map<number, number>()
  const dt = prof.timeDeltas as number[]
  prof.samples.forEach((id: number, i: number) => self.set(id, (self.get(id) ?? 0) + (dt[i] ?? 0)))
  const byFn = new Map<string, number>()
  let total = 0
  for (const node of prof.nodes) {
    const t = self.get(node.id) ?? 0
    total += t
    const cf = node.callFrame
    const key = `${cf.functionName || '(anon)'} ${cf.url.replace(/.*node_modules\//, '').replace('file:///work/main/', '')}:${cf.lineNumber}`
    byFn.set(key, (byFn.get(key) ?? 0) + t)
  }
  const byPkg = new Map<string, number>()
  for (const [k, t] of byFn) {
    const m = k.match(/ ((@[^/]+\/)?[^/:]+)/)
    const p = m ? m[1]! : '?'
    byPkg.set(p, (byPkg.get(p) ?? 0) + t)
  }
  console.log(
    '  by package:',
    [...byPkg]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8)
      .map(([k, t]) => `${k} ${(t / 1000).toFixed(0)}ms`)
      .join(', '),
  )
  for (const [k, t] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.TOP ?? 14)))
    console.log(`  ${(t / 1000).toFixed(0).padStart(6)} ms ${((100 * t) / total).toFixed(1).padStart(5)}% ${k}`)
}
