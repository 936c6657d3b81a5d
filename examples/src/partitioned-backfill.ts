/**
 * A backfill split across worker processes through a real job queue (BullMQ on Redis), every row once,
 * surviving a worker killed mid-partition:
 *
 *   npm run partitioned -w examples -- [--url postgres://…] [--workers 3] [--partitions 12] [--rows 100000] [--crash-after N]
 *                                      [--batch-size 500] [--delay-ms 0] [--redis redis://127.0.0.1:6379] [--queue NAME] [--discard]
 *
 * The coordinator (this process) splits `events`, ordered by occurred_at, into partitions with TypeORM's
 * `partitions(qb, n)` and enqueues one job per partition; the descriptors are plain JSON, so they travel in the
 * job's data. It forks `--workers` worker processes (`child_process.fork`, the same script with `--worker`):
 * each takes jobs from the queue and backfills its partition, `aiterator(qb, { partition, after })` in batches,
 * writing each batch's results (`partitioned_backfill`: the amount in cents per event) and the partition's
 * resume token (`partitioned_checkpoints`) in one transaction, and reporting progress on the job. The token
 * moves only from where the attempt found it, so two workers that ever run one job at once cannot both write
 * a batch.
 *
 * `--crash-after N`: the first worker kills itself with SIGKILL once it has written N rows. Its job is then
 * stalled: BullMQ sees its lock expire (after `--lock-ms`, default 5 s) and hands the job to another worker,
 * which reads the saved token and continues right after the last batch that was committed; the coordinator
 * starts a replacement process, as a supervisor would. `--delay-ms` makes each batch wait that long after its
 * commit, standing in for a call to another system (what many backfills spend their time on). Each write counts itself (`writes`), so the summary can
 * tell a row written twice from a row written once.
 *
 * The last line is a JSON summary checked in the database (not counted in memory): `rows` (events),
 * `processed` (writes), `distinct` (events written), `duplicates`, `missing`, `wrong` (values that differ
 * from the source), `workers`, `partitions`, `crashes`, `retries` (job starts beyond one per partition),
 * `seconds` (first job enqueued to last completed) and `rowsPerSecond`. The exit code is 0 only when every
 * row was processed exactly once. Without `--url` it uses the demo's embedded database (see example-database.ts).
 */
import { fork } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { EventSchema } from '@batchyield/bench/typeorm-event'
import { aiterator, partitions, type PartitionDescriptor } from '@batchyield/typeorm'
import { type Job, Queue, QueueEvents, Worker } from 'bullmq'
import { Redis } from 'ioredis'
import { DataSource } from 'typeorm'
import { numberArg, openExampleDatabase } from './example-database.ts'

/** What one job carries: the run it belongs to and its partition's descriptor (plain JSON). */
interface PartitionJob {
  readonly run: string
  readonly partition: PartitionDescriptor
}

/** The query every process builds the same way: a descriptor only iterates the query it was made for. */
const eventsByTime = (dataSource: DataSource) =>
  dataSource.getRepository(EventSchema).createQueryBuilder('e').orderBy('e.occurredAt', 'ASC')

/** "123.45" → 12345n, exactly (no floating point). */
function toCents(amount: string): bigint {
  const negative = amount.startsWith('-')
  const [whole = '0', fraction = ''] = amount.replace('-', '').split('.')
  const cents = BigInt(whole) * 100n + BigInt(fraction.padEnd(2, '0').slice(0, 2))
  return negative ? -cents : cents
}

/**
 * A Redis client for BullMQ (which loads no client itself under ESM: it takes one and duplicates it for
 * its blocking reads). `maxRetriesPerRequest: null` is what BullMQ's workers require. Closed by the caller.
 */
function redisClient(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null })
}

/** A worker's PostgreSQL pool: one connection reads (keyset holds none between chunks), one writes, one spare for the read-ahead. */
const WORKER_POOL_SIZE = 3

if (process.argv.includes('--worker')) await runWorker()
else process.exitCode = await runCoordinator()

async function runCoordinator(): Promise<number> {
  const { db, args } = await openExampleDatabase({
    workers: { type: 'string' },
    partitions: { type: 'string' },
    'crash-after': { type: 'string' },
    'batch-size': { type: 'string' },
    'lock-ms': { type: 'string' },
    'delay-ms': { type: 'string' },
    redis: { type: 'string' },
    queue: { type: 'string' },
    discard: { type: 'boolean' },
  })
  const workers = numberArg(args, 'workers', 3)
  const partitionCount = numberArg(args, 'partitions', 12)
  const crashAfter = args['crash-after'] === undefined ? undefined : numberArg(args, 'crash-after', 0)
  const batchSize = numberArg(args, 'batch-size', 500)
  const lockMs = numberArg(args, 'lock-ms', 5000)
  const delayMs = numberArg(args, 'delay-ms', 0)
  for (const [name, value] of Object.entries({
    workers,
    partitions: partitionCount,
    'batch-size': batchSize,
    'lock-ms': lockMs,
  })) {
    if (!Number.isSafeInteger(value) || value < 1)
      throw new TypeError(`--${name} must be a positive integer, received ${value}`)
  }
  const redis = typeof args.redis === 'string' ? args.redis : (process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
  const run = `${new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '')}-${randomBytes(3).toString('hex')}`
  const queueName = typeof args.queue === 'string' ? args.queue : `batchyield-partitioned-${run}`
  const connection = redisClient(redis)
  const eventsConnection = redisClient(redis)

  // ioredis would wait for a server that is not there as long as it takes: fail at once, saying where it looked
  const reachable = await Promise.race([
    connection.ping().then(() => true),
    new Promise<false>((resolve) => setTimeout(resolve, 5000, false).unref()),
  ])
  if (!reachable) {
    connection.disconnect()
    eventsConnection.disconnect()
    await db.close()
    throw new Error(
      `Redis does not answer at ${redis}: start one (redis-server, or docker compose up -d redis), or pass --redis redis://…`,
    )
  }
  const dataSource = new DataSource({ type: 'postgres', url: db.url, entities: [EventSchema], poolSize: 2 })
  await dataSource.initialize()
  const queue = new Queue<PartitionJob>(queueName, { connection })
  const queueEvents = new QueueEvents(queueName, { connection: eventsConnection })
  const children = new Set<ReturnType<typeof fork>>()
  try {
    await dataSource.query(
      'CREATE TABLE IF NOT EXISTS partitioned_backfill (run text NOT NULL, event_id bigint NOT NULL, amount_cents bigint NOT NULL, writes int NOT NULL, PRIMARY KEY (run, event_id))',
    )
    await dataSource.query(
      'CREATE TABLE IF NOT EXISTS partitioned_checkpoints (run text NOT NULL, partition int NOT NULL, after text, rows bigint NOT NULL DEFAULT 0, starts int NOT NULL DEFAULT 0, done boolean NOT NULL DEFAULT false, PRIMARY KEY (run, partition))',
    )
    const started = performance.now()
    const parts = await partitions(eventsByTime(dataSource), partitionCount)
    const partitionSeconds = (performance.now() - started) / 1000
    console.log(
      `run ${run}: ${parts.length} partitions of events by occurred_at in ${partitionSeconds.toFixed(2)} s; queue ${queueName} on ${redis}`,
    )

    await queueEvents.waitUntilReady()
    const progress = new Map<string, number>()
    let lastPrint = 0
    queueEvents.on('progress', ({ jobId, data }) => {
      progress.set(jobId, (data as { rows?: number }).rows ?? 0)
      if (performance.now() - lastPrint < 1000) return
      lastPrint = performance.now()
      console.log(
        `progress: ${[...progress.values()].reduce((a, b) => a + b, 0)} rows written (${progress.size} of ${parts.length} partitions started)`,
      )
    })

    const enqueued = performance.now()
    // a failed attempt (an error, not a crash) is retried too; a stalled job (its worker died) goes back to the queue
    await queue.addBulk(
      parts.map((partition) => ({
        name: 'backfill-partition',
        data: { run, partition },
        opts: { jobId: `${run}-${partition.index}`, attempts: 5, backoff: { type: 'fixed', delay: 500 } },
      })),
    )

    let crashes = 0
    let stopping = false
    const startWorker = (id: number, crash: number | undefined) => {
      const workerArgs = [
        '--worker',
        '--worker-id',
        String(id),
        '--url',
        db.url,
        '--redis',
        redis,
        '--queue',
        queueName,
        '--batch-size',
        String(batchSize),
        '--lock-ms',
        String(lockMs),
        '--delay-ms',
        String(delayMs),
      ]
      if (crash !== undefined) workerArgs.push('--crash-after', String(crash))
      const child = fork(process.argv[1]!, workerArgs, { execArgv: process.execArgv })
      children.add(child)
      child.on('exit', (code, signal) => {
        children.delete(child)
        if (stopping) return
        if (signal !== null) crashes++
        console.log(
          `worker ${id} (pid ${child.pid}) ended ${signal === null ? `with code ${code}` : `by ${signal}`}; starting a replacement`,
        )
        startWorker(id, undefined)
      })
    }
    for (let id = 0; id < workers; id++) startWorker(id, id === 0 ? crashAfter : undefined)

    for (;;) {
      const counts = await queue.getJobCounts('completed', 'failed')
      if (counts.failed! > 0) {
        const [failed] = await queue.getFailed(0, 0)
        console.error(`a partition failed for good: ${failed?.failedReason}`)
        break
      }
      if (counts.completed === parts.length) break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const seconds = (performance.now() - enqueued) / 1000
    stopping = true
    await Promise.all([...children].map((child) => new Promise((resolve) => child.once('exit', resolve).send('stop'))))

    const [check] = (await dataSource.query(
      `SELECT (SELECT count(*) FROM events) AS rows,
              (SELECT coalesce(sum(writes), 0) FROM partitioned_backfill WHERE run = $1) AS processed,
              (SELECT count(*) FROM partitioned_backfill WHERE run = $1) AS distinct,
              (SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM partitioned_backfill b WHERE b.run = $1 AND b.event_id = e.id)) AS missing,
              (SELECT count(*) FROM partitioned_backfill b JOIN events e ON e.id = b.event_id
                WHERE b.run = $1 AND b.amount_cents <> (e.amount * 100)::bigint) AS wrong,
              (SELECT coalesce(sum(starts), 0) FROM partitioned_checkpoints WHERE run = $1) AS starts`,
      [run],
    )) as Record<string, string>[]
    const [rows, processed, distinct, missing, wrong, starts] = [
      'rows',
      'processed',
      'distinct',
      'missing',
      'wrong',
      'starts',
    ].map((k) => Number(check![k]))
    const summary = {
      run,
      queue: queueName,
      rows: rows!,
      processed: processed!,
      distinct: distinct!,
      duplicates: processed! - distinct!,
      missing: missing!,
      wrong: wrong!,
      workers,
      partitions: parts.length,
      delayMs,
      crashes,
      retries: starts! - parts.length,
      partitionSeconds: Number(partitionSeconds.toFixed(3)),
      seconds: Number(seconds.toFixed(3)),
      rowsPerSecond: Math.round(rows! / seconds),
    }
    const exactlyOnce =
      summary.processed === summary.rows &&
      summary.distinct === summary.rows &&
      summary.missing === 0 &&
      summary.wrong === 0
    if (args.discard) {
      await dataSource.query('DELETE FROM partitioned_backfill WHERE run = $1', [run])
      await dataSource.query('DELETE FROM partitioned_checkpoints WHERE run = $1', [run])
    }
    console.log(exactlyOnce ? 'every row was processed exactly once' : 'NOT every row was processed exactly once')
    console.log(JSON.stringify(summary))
    return exactlyOnce ? 0 : 1
  } finally {
    for (const child of children) child.kill('SIGKILL')
    await queueEvents.close()
    await queue.obliterate({ force: true }).catch(() => {})
    await queue.close()
    await Promise.all([connection.quit(), eventsConnection.quit()])
    await dataSource.destroy()
    await db.close()
  }
}

async function runWorker(): Promise<void> {
  const { values } = parseArgs({
    options: {
      worker: { type: 'boolean' },
      'worker-id': { type: 'string' },
      url: { type: 'string' },
      redis: { type: 'string' },
      queue: { type: 'string' },
      'batch-size': { type: 'string' },
      'crash-after': { type: 'string' },
      'lock-ms': { type: 'string' },
      'delay-ms': { type: 'string' },
    },
    strict: true,
  })
  const id = values['worker-id']
  const crashAfter = values['crash-after'] === undefined ? undefined : Number(values['crash-after'])
  const batchYieldSize = Number(values['batch-size'])
  const lockDuration = Number(values['lock-ms'])
  const delayMs = Number(values['delay-ms'] ?? 0)
  const dataSource = new DataSource({
    type: 'postgres',
    url: values.url!,
    entities: [EventSchema],
    poolSize: WORKER_POOL_SIZE,
  })
  await dataSource.initialize()
  let written = 0

  const backfill = async (job: Job<PartitionJob>): Promise<{ rows: number }> => {
    const { run, partition } = job.data
    const [checkpoint] = (await dataSource.query(
      `INSERT INTO partitioned_checkpoints (run, partition, starts) VALUES ($1, $2, 1)
       ON CONFLICT (run, partition) DO UPDATE SET starts = partitioned_checkpoints.starts + 1
       RETURNING after, rows, done`,
      [run, partition.index],
    )) as { after: string | null; rows: string; done: boolean }[]
    let rows = Number(checkpoint!.rows)
    if (checkpoint!.done) return { rows }
    if (checkpoint!.after !== null)
      console.log(
        `worker ${id}: partition ${partition.index + 1}/${partition.count} resumes after ${rows} rows (attempt ${job.attemptsStarted}, stalled ${job.stalledCounter} times)`,
      )

    // the checkpoint this attempt stands on: each batch moves it only from there (see below)
    let position = checkpoint!.after
    let token: string | undefined
    const batches = aiterator(eventsByTime(dataSource), {
      batchYieldSize,
      partition,
      ...(position === null ? {} : { after: position }),
      // runs before each batch is handed over: `token` belongs to the batch being written
      onProgress: (progress) => {
        token = progress.cursor
      },
    })
    for await (const events of batches) {
      const after = token!
      await dataSource.transaction(async (manager) => {
        // Fencing: the checkpoint moves only from where this attempt found it. Should BullMQ ever hand the
        // job to a second worker while this one still runs (a lock lost to a long pause), one of the two
        // transactions finds the checkpoint moved, and its batch is rolled back instead of written twice.
        const [moved] = (await manager.query(
          `WITH moved AS (
             UPDATE partitioned_checkpoints SET after = $3, rows = rows + $4
             WHERE run = $1 AND partition = $2 AND after IS NOT DISTINCT FROM $5 RETURNING 1
           )
           SELECT count(*)::int AS n FROM moved`,
          [run, partition.index, after, events.length, position],
        )) as { n: number }[]
        if (moved!.n !== 1)
          throw new Error(
            `partition ${partition.index + 1}/${partition.count}: another worker moved its checkpoint on (this attempt's lock was lost); stopping this attempt`,
          )
        await manager.query(
          `INSERT INTO partitioned_backfill (run, event_id, amount_cents, writes)
           SELECT $1, v.id, v.cents, 1 FROM unnest($2::bigint[], $3::bigint[]) AS v(id, cents)
           ON CONFLICT (run, event_id) DO UPDATE SET amount_cents = EXCLUDED.amount_cents, writes = partitioned_backfill.writes + 1`,
          [run, events.map((event) => event.id), events.map((event) => toCents(event.amount).toString())],
        )
      })
      position = after
      rows += events.length
      written += events.length
      await job.updateProgress({ partition: partition.index, rows })
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs))
      if (crashAfter !== undefined && written >= crashAfter) {
        console.log(
          `worker ${id}: --crash-after ${crashAfter}: SIGKILL after writing ${written} rows, mid-partition ${partition.index + 1}/${partition.count}`,
        )
        process.kill(process.pid, 'SIGKILL')
      }
    }
    await dataSource.query(
      'UPDATE partitioned_checkpoints SET done = true WHERE run = $1 AND partition = $2 AND after IS NOT DISTINCT FROM $3',
      [run, partition.index, position],
    )
    return { rows }
  }

  const connection = redisClient(values.redis!)
  const worker = new Worker<PartitionJob>(values.queue!, backfill, {
    connection,
    concurrency: 1,
    // a dead worker's job is stalled once its lock expires; another worker picks it up at the next check
    lockDuration,
    stalledInterval: Math.max(500, Math.floor(lockDuration / 4)),
    maxStalledCount: 3,
  })
  worker.on('failed', (job, error) =>
    console.error(`worker ${id}: partition ${job?.data.partition.index} failed: ${error.message}`),
  )
  process.on('message', (message) => {
    if (message !== 'stop') return
    void (async () => {
      await worker.close()
      await connection.quit()
      await dataSource.destroy()
      process.exit(0)
    })()
  })
}
