/**
 * Runs one mode once, in a fresh process, and prints one result line for the parent.
 * Usage (internal): node child.ts '<json ChildRequest>'
 */
import { performance } from 'node:perf_hooks'
import { trackPeakRss } from './memory.ts'
import { loadMode } from './modes/registry.ts'
import { reportUncaughtErrors, resultPrefix, type ChildRequest, type ChildResult } from './child-protocol.ts'

reportUncaughtErrors()

const request = JSON.parse(process.argv[2] ?? '') as ChildRequest
const mode = await loadMode(request.mode)
const job = await mode.prepare(request)
const setupRssBytes = process.memoryUsage.rss()
const peak = trackPeakRss()

let rows = 0
let batches = 0
let checksum = 0
let firstBatchMs = Number.NaN
const delay = mode.consumerDelayMs
const checksumOf = mode.checksumOf
const liveHeapEvery = request.liveHeapEvery
const gc = (globalThis as { gc?: () => void }).gc
if (liveHeapEvery !== undefined && gc === undefined) throw new Error('liveHeapEvery needs node --expose-gc')
const liveHeap: [number, number][] = []
const started = performance.now()
await job.run(async (items) => {
  if (batches === 0) firstBatchMs = performance.now() - started
  batches += 1
  const before = rows
  rows += items.length
  if (liveHeapEvery !== undefined && Math.floor(rows / liveHeapEvery) > Math.floor(before / liveHeapEvery)) {
    gc!()
    liveHeap.push([rows, process.memoryUsage().heapUsed])
  }
  if (checksumOf !== undefined) for (const item of items) checksum += checksumOf(item)
  // Entities have `quantity`; TypeORM's raw stream rows carry the alias prefix.
  else
    for (const item of items)
      checksum += (item as { quantity?: number }).quantity ?? (item as { e_quantity: number }).e_quantity
  if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay))
})
const wallMs = performance.now() - started
const memory = peak.stop()
const paths = await job.paths?.()
await job.close()

const result: ChildResult = {
  mode: request.mode,
  rows,
  batches,
  wallMs,
  firstBatchMs,
  maxRssBytes: memory.maxRssBytes,
  sampledPeakRssBytes: memory.sampledPeakBytes,
  setupRssBytes,
  checksum,
  ...(paths === undefined ? {} : { paths }),
  ...(liveHeapEvery === undefined ? {} : { liveHeap }),
}
process.stdout.write(`${resultPrefix}${JSON.stringify(result)}\n`)
