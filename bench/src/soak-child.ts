/**
 * One adapter's soak, in its own process so its peak RSS is its own: one pool, `concurrency` `aiterator`
 * loops started together over the whole of `events`, each tallying ids; then the pool and
 * `pg_stat_activity` are inspected, the pool closed, and one result line printed for the parent.
 * Usage (internal): node soak-child.ts '<json SoakRequest>'
 */
import { performance, PerformanceObserver } from 'node:perf_hooks'
import { reportUncaughtErrors, resultPrefix } from './child-protocol.ts'
import { trackPeakRss } from './memory.ts'
import {
  IdTally,
  type IterationResult,
  listApplicationSessions,
  type PgPoolCounters,
  readTableTotals,
  type SoakRequest,
  type SoakResult,
  waitForIdlePool,
  waitForNoSessions,
} from './soak-checks.ts'

reportUncaughtErrors()

/** One adapter opened on one pool: a fresh iteration over the whole table per call of `iterate`. */
interface SoakTarget {
  pool: PgPoolCounters
  iterate(): AsyncIterable<readonly { id: string }[]>
  close(): Promise<void>
}

// Each adapter is imported only in its own child, so one ORM's footprint never shows in the other's RSS.
async function openTarget(request: SoakRequest): Promise<SoakTarget> {
  const pool = { max: request.poolMax, applicationName: request.applicationName }
  const options = { batchYieldSize: request.batchYieldSize, chunkSize: request.chunkSize, strategy: request.strategy }
  if (request.adapter === 'typeorm') {
    await import('@batchyield/typeorm')
    const { eventsQuery, openTypeormDataSource } = await import('./modes/typeorm-connection.ts')
    const dataSource = await openTypeormDataSource(request.url, pool)
    return {
      // TypeORM's PostgreSQL driver keeps its pg.Pool as `master` (`slaves` only with replication).
      pool: (dataSource.driver as unknown as { master: PgPoolCounters }).master,
      iterate: () => eventsQuery(dataSource).aiterator(options),
      close: () => dataSource.destroy(),
    }
  }
  await import('@batchyield/mikro-orm')
  const { openMikroOrm } = await import('./modes/mikro-orm-connection.ts')
  const { EventEntity } = await import('./entities/mikro-orm-event.ts')
  const orm = await openMikroOrm(request.url, pool)
  return {
    // MikroORM 7 runs Kysely over a pg.Pool, which its PostgreSQL connection hands out.
    pool: await orm.em.getConnection().getNativeClient(),
    // A fork per iteration, as concurrent units of work would each have their own.
    iterate: () => orm.em.fork().aiterator(EventEntity, options),
    close: () => orm.close(),
  }
}

const request = JSON.parse(process.argv[2] ?? '') as SoakRequest
const totals = await readTableTotals(request.url)
const target = await openTarget(request)
const setupRssBytes = process.memoryUsage.rss()
const peak = trackPeakRss()
const poolPeak = { total: target.pool.totalCount, waiting: target.pool.waitingCount }
const poolSampler = setInterval(() => {
  poolPeak.total = Math.max(poolPeak.total, target.pool.totalCount)
  poolPeak.waiting = Math.max(poolPeak.waiting, target.pool.waitingCount)
}, 10)
poolSampler.unref()

// Time V8 spent in garbage collection pauses: concurrent loops keep more entities alive at once.
let gcMs = 0
const gcObserver = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcMs += entry.duration
})
gcObserver.observe({ entryTypes: ['gc'] })

const cpuBefore = process.cpuUsage()
const started = performance.now()
const iterations = await Promise.all(
  Array.from({ length: request.concurrency }, async (): Promise<IterationResult> => {
    const tally = new IdTally(totals)
    let firstBatchMs = Number.NaN
    let error: string | undefined
    try {
      for await (const batch of target.iterate()) {
        if (Number.isNaN(firstBatchMs)) firstBatchMs = performance.now() - started
        tally.add(batch)
      }
    } catch (thrown) {
      // One failing loop must not hide how the others and the pool fared: record it and carry on.
      error = thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : String(thrown)
    }
    return {
      ...tally.result(),
      firstBatchMs,
      wallMs: performance.now() - started,
      ...(error === undefined ? {} : { error }),
    }
  }),
)
const wallMs = performance.now() - started
const cpu = process.cpuUsage(cpuBefore)
const memory = peak.stop()
clearInterval(poolSampler)
gcObserver.disconnect()

const poolAtEnd = await waitForIdlePool(target.pool)
const sessionsAtEnd = await listApplicationSessions(request.url, request.applicationName)
await target.close()
const sessionsAfterClose = await waitForNoSessions(request.url, request.applicationName)

const result: SoakResult = {
  adapter: request.adapter,
  strategy: request.strategy,
  concurrency: request.concurrency,
  poolMax: request.poolMax,
  applicationName: request.applicationName,
  totals,
  iterations,
  wallMs,
  cpuMs: (cpu.user + cpu.system) / 1000,
  gcMs,
  maxRssBytes: memory.maxRssBytes,
  sampledPeakRssBytes: memory.sampledPeakBytes,
  setupRssBytes,
  poolPeak,
  poolAtEnd,
  sessionsAtEnd,
  sessionsAfterClose,
}
process.stdout.write(`${resultPrefix}${JSON.stringify(result)}\n`)
