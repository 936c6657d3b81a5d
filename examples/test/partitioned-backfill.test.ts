import { randomBytes } from 'node:crypto'
import { ensureEventsRows } from '@batchyield/bench'
import { createTestDatabase, type TestDatabase } from '@batchyield/test-fixtures'
import { Redis } from 'ioredis'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runScript } from './run-script.ts'

// The partitioned backfill on BullMQ, run as a user runs it (its own process, which forks its workers),
// against a fresh PostgreSQL test database and the machine's Redis, with one worker killed mid-partition.

const rows = 3000
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const queue = `batchyield-test-${process.pid}-${randomBytes(4).toString('hex')}`
let db: TestDatabase
let redis: Redis

beforeAll(async () => {
  db = await createTestDatabase({ dialect: 'postgres' })
  await ensureEventsRows(db.url, rows)
  redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 })
})
afterAll(async () => {
  // the example obliterates its queue; this only removes what a failed run may have left
  const left = await redis?.keys(`bull:${queue}:*`)
  if (left?.length) await redis.del(...left)
  await redis?.quit()
  await db?.drop()
})

async function query<Row>(sql: string, params: unknown[] = []): Promise<Row[]> {
  const client = new pg.Client({ connectionString: db.url })
  await client.connect()
  try {
    return (await client.query(sql, params)).rows as Row[]
  } finally {
    await client.end()
  }
}

describe('partitioned-backfill', () => {
  it('a worker SIGKILLed mid-partition: BullMQ hands its job to another worker, which resumes from the saved token; every row written exactly once', async () => {
    // 6 partitions of about 500 rows: the first worker dies after its 5th batch of 50, inside a partition
    const run = ['--url', db.url, '--rows', String(rows), '--workers', '3', '--partitions', '6', '--batch-size', '50']
    const output = await runScript('partitioned-backfill', [
      ...run,
      '--crash-after',
      '220',
      '--queue',
      queue,
      '--redis',
      redisUrl,
      '--lock-ms',
      '3000',
    ])
    const summary = JSON.parse(output.trimEnd().split('\n').at(-1)!) as Record<string, number | string>
    expect(summary).toMatchObject({
      queue,
      rows,
      processed: rows,
      distinct: rows,
      duplicates: 0,
      missing: 0,
      wrong: 0,
      workers: 3,
      partitions: 6,
      crashes: 1,
    })
    expect(summary.retries).toBeGreaterThanOrEqual(1)
    expect(output).toMatch(/worker 0: --crash-after 220: SIGKILL after writing 250 rows, mid-partition \d\/6/)
    expect(output).toMatch(/worker \d: partition \d\/6 resumes after 250 rows \(attempt \d, stalled 1 times\)/)
    expect(output).toMatch(/progress: \d+ rows written/)

    // checked again here, from the tables the job wrote
    const [written] = await query<{ events: string; writes: string; most: number }>(
      'SELECT count(*) AS events, sum(writes) AS writes, max(writes) AS most FROM partitioned_backfill WHERE run = $1',
      [summary.run],
    )
    expect(written).toEqual({ events: String(rows), writes: String(rows), most: 1 })
    const checkpoints = await query<{ rows: string; starts: number; done: boolean }>(
      'SELECT rows, starts, done FROM partitioned_checkpoints WHERE run = $1 ORDER BY partition',
      [summary.run],
    )
    expect(checkpoints).toHaveLength(6)
    expect(checkpoints.every((c) => c.done)).toBe(true)
    expect(checkpoints.reduce((sum, c) => sum + Number(c.rows), 0)).toBe(rows)
    // the killed worker's partition was started twice, the others once
    expect(checkpoints.map((c) => c.starts).sort()).toEqual([1, 1, 1, 1, 1, 2])
    const [wrong] = await query<{ n: string }>(
      'SELECT count(*) AS n FROM partitioned_backfill b JOIN events e ON e.id = b.event_id WHERE b.run = $1 AND b.amount_cents <> (e.amount * 100)::bigint',
      [summary.run],
    )
    expect(wrong!.n).toBe('0')

    expect(await redis.keys(`bull:${queue}:*`)).toEqual([]) // the queue was cleaned up
  })
})
