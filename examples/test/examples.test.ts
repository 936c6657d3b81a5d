import { readFile, rm, mkdtemp } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTestDatabase, eventRow, type TestDatabase } from '@batchyield/test-fixtures'
import { ensureEventsRows } from '@batchyield/bench'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runScript, startScript } from './run-script.ts'

const rows = 3000
let db: TestDatabase
let scratch: string

beforeAll(async () => {
  db = await createTestDatabase({ dialect: 'postgres' })
  await ensureEventsRows(db.url, rows)
  scratch = await mkdtemp(join(tmpdir(), 'batchyield-examples-'))
})
afterAll(async () => {
  await db?.drop()
  if (scratch) await rm(scratch, { recursive: true, force: true })
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

const ids = Array.from({ length: rows }, (_, i) => i + 1)

describe('export-to-file', () => {
  it('writes every non-test event exactly once, in id order, as the ORM hydrated it', async () => {
    const file = join(scratch, 'events.ndjson')
    const output = await runScript('export-to-file', ['--url', db.url, '--rows', String(rows), '--out', file])
    const expected = ids.filter((id) => !eventRow(id).is_test)
    expect(output).toContain(`exported ${expected.length} events to ${file}`)
    const lines = (await readFile(file, 'utf8'))
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
    expect(lines.map((e) => Number(e.id))).toEqual(expected)
    const row = eventRow(expected[7]!)
    expect(lines[7]).toEqual({
      id: String(row.id),
      occurredAt: row.occurred_at.toISOString(),
      kind: row.kind,
      userId: row.user_id,
      sessionId: row.session_id,
      source: row.source,
      country: row.country,
      amount: row.amount,
      quantity: row.quantity,
      isTest: false,
      tags: row.tags,
      payload: row.payload,
    })
  })
})

describe('send-to-api', () => {
  it('delivers every purchase event once, with at most --concurrency requests in flight, retrying 503s', async () => {
    const received: number[] = []
    let inFlight = 0
    let maxInFlight = 0
    let requests = 0
    const server = createServer((request, response) => {
      inFlight += 1
      maxInFlight = Math.max(maxInFlight, inFlight)
      requests += 1
      const parts: Buffer[] = []
      request.on('data', (part: Buffer) => parts.push(part))
      request.on('end', () => {
        // Every third request is refused once: the example must retry it, and nothing may be counted twice.
        const refuse = requests % 3 === 0
        setTimeout(() => {
          inFlight -= 1
          if (refuse) {
            response.writeHead(503).end()
            return
          }
          for (const event of JSON.parse(Buffer.concat(parts).toString('utf8')) as { id: string }[])
            received.push(Number(event.id))
          response.writeHead(204).end()
        }, 40)
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`
    try {
      const output = await runScript('send-to-api', [
        '--url',
        db.url,
        '--rows',
        String(rows),
        '--endpoint',
        endpoint,
        '--concurrency',
        '3',
        '--batch-size',
        '40',
      ])
      const expected = ids.filter((id) => eventRow(id).kind === 'purchase')
      expect(output).toContain(`sent ${expected.length} events to ${endpoint}`)
      expect([...received].sort((a, b) => a - b)).toEqual(expected)
      expect(maxInFlight).toBe(3)
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })
})

describe('resumable-backfill', () => {
  it('survives SIGKILL halfway and resumes after the last committed batch: every row updated exactly once', async () => {
    await query('ALTER TABLE events ADD COLUMN IF NOT EXISTS amount_cents bigint')
    await query('CREATE TABLE update_log (id bigint NOT NULL)')
    await query(
      `CREATE FUNCTION log_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO update_log VALUES (NEW.id); RETURN NEW; END $$`,
    )
    await query('CREATE TRIGGER events_update_log AFTER UPDATE ON events FOR EACH ROW EXECUTE FUNCTION log_update()')

    const first = startScript('resumable-backfill', [
      '--url',
      db.url,
      '--rows',
      String(rows),
      '--batch-size',
      '100',
      '--delay-ms',
      '30',
    ])
    await new Promise<void>((resolve, reject) => {
      const poll = setInterval(() => {
        const match = [...first.output().matchAll(/backfilled (\d+) rows in this run/g)].at(-1)
        if (match && Number(match[1]) >= 1000) {
          clearInterval(poll)
          first.child.kill('SIGKILL')
          resolve()
        }
      }, 5)
      first.exit.then(() => {
        clearInterval(poll)
        reject(new Error(`the backfill ended before it could be killed:\n${first.output()}`))
      }, reject)
    })
    await first.exit.catch(() => {})
    expect(first.child.signalCode).toBe('SIGKILL')

    const [afterKill] = await query<{ checkpoint: string; updated: string }>(
      "SELECT (SELECT rows FROM backfill_checkpoints WHERE job = 'events.amount_cents') AS checkpoint, (SELECT count(*) FROM events WHERE amount_cents IS NOT NULL) AS updated",
    )
    // The update and the checkpoint commit together: what the checkpoint counts is exactly what was written.
    expect(Number(afterKill!.checkpoint)).toBe(Number(afterKill!.updated))
    expect(Number(afterKill!.updated)).toBeGreaterThanOrEqual(1000)
    expect(Number(afterKill!.updated)).toBeLessThan(rows)

    const output = await runScript('resumable-backfill', [
      '--url',
      db.url,
      '--rows',
      String(rows),
      '--batch-size',
      '100',
    ])
    expect(output).toContain(`resuming after ${afterKill!.checkpoint} rows already backfilled`)
    expect(output).toContain(`done: ${rows - Number(afterKill!.checkpoint)} rows backfilled in this run`)

    const twice = await query<{ id: string }>('SELECT id FROM update_log GROUP BY id HAVING count(*) <> 1')
    expect(twice).toEqual([])
    const [{ n }] = (await query<{ n: string }>('SELECT count(DISTINCT id) AS n FROM update_log')) as [{ n: string }]
    expect(Number(n)).toBe(rows)
    const wrong = await query<{ id: string }>(
      'SELECT id FROM events WHERE amount_cents IS DISTINCT FROM (amount * 100)::bigint',
    )
    expect(wrong).toEqual([])

    const again = await runScript('resumable-backfill', ['--url', db.url, '--rows', String(rows)])
    expect(again).toContain('nothing left to backfill')
  })
})

describe('the demo database by default', () => {
  it('runs an example with no --url against an embedded PostgreSQL that it seeds itself', async () => {
    const env = { ...process.env }
    delete env.DATABASE_URL
    const dataDir = join(scratch, 'pglite')
    const file = join(scratch, 'embedded.ndjson')
    const output = await runScript('export-to-file', ['--data-dir', dataDir, '--rows', '500', '--out', file], env)
    expect(output).toMatch(/database: embedded PostgreSQL \(PGlite/)
    const expected = Array.from({ length: 500 }, (_, i) => i + 1).filter((id) => !eventRow(id).is_test)
    const lines = (await readFile(file, 'utf8'))
      .trimEnd()
      .split('\n')
      .map((line) => Number((JSON.parse(line) as { id: string }).id))
    expect(lines).toEqual(expected)
  })
})
