import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { ensureEventsRows } from '@batchyield/bench'
import { createTestDatabase, eventRow, type TestDatabase } from '@batchyield/test-fixtures'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// The NestJS example is compiled the way Nest projects are (tsc with decorators and their metadata), then
// its application is booted in this process against a fresh test database, once per ORM.

const rows = 3000
const nestjs = fileURLToPath(new URL('../nestjs/', import.meta.url))
let db: TestDatabase

interface ExportReport {
  readonly job: string
  readonly rows: number
  readonly batches: number
}
type RunExport = (options: {
  orm: 'typeorm' | 'mikro-orm'
  url: string
  batchSize: number
  chunkSize: number
}) => Promise<ExportReport>
let runExport: RunExport

beforeAll(async () => {
  db = await createTestDatabase({ dialect: 'postgres' })
  await ensureEventsRows(db.url, rows)
  const tsc = fileURLToPath(new URL('../../node_modules/.bin/tsc', import.meta.url))
  await promisify(execFile)(tsc, ['-p', join(nestjs, 'tsconfig.json')])
  ;({ runExport } = (await import(pathToFileURL(join(nestjs, 'dist', 'main.js')).href)) as { runExport: RunExport })
}, 120_000)
afterAll(async () => {
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

const purchases = Array.from({ length: rows }, (_, i) => i + 1).filter(
  (id) => eventRow(id).kind === 'purchase' && !eventRow(id).is_test,
)

describe('the NestJS batch job (examples/nestjs)', () => {
  it.each(['typeorm', 'mikro-orm'] as const)(
    '%s: the booted app exports every non-test purchase exactly once, in full batches of 40 except the last',
    async (orm) => {
      expect(purchases.length).toBeGreaterThan(200)
      const report = await runExport({ orm, url: db.url, batchSize: 40, chunkSize: 150 })
      expect(report).toEqual({ job: orm, rows: purchases.length, batches: Math.ceil(purchases.length / 40) })
      // the ledger's primary key (job, event_id) would have failed the job on a repeated event
      const ledger = await query<{ event_id: string; batch_no: number }>(
        'SELECT event_id, batch_no FROM export_ledger WHERE job = $1 ORDER BY event_id',
        [orm],
      )
      expect(ledger.map((row) => Number(row.event_id))).toEqual(purchases)
      const perBatch = await query<{ batch_no: number; n: string }>(
        'SELECT batch_no, count(*) AS n FROM export_ledger WHERE job = $1 GROUP BY batch_no ORDER BY batch_no',
        [orm],
      )
      expect(perBatch.map((b) => b.batch_no)).toEqual(Array.from({ length: report.batches }, (_, i) => i + 1))
      expect(perBatch.slice(0, -1).every((b) => Number(b.n) === 40)).toBe(true)
      expect(Number(perBatch.at(-1)!.n)).toBe(purchases.length - 40 * (report.batches - 1))
    },
  )

  it('runs again from the command line, as documented, and reports the same export', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [
      join(nestjs, 'dist', 'main.js'),
      '--orm',
      'mikro-orm',
      '--url',
      db.url,
      '--batch-size',
      '100',
    ])
    expect(stdout).toContain(
      `mikro-orm: exported ${purchases.length} events in ${Math.ceil(purchases.length / 100)} batches`,
    )
    const [{ n }] = (await query<{ n: string }>(
      "SELECT count(DISTINCT event_id) AS n FROM export_ledger WHERE job = 'mikro-orm'",
    )) as [{ n: string }]
    expect(Number(n)).toBe(purchases.length)
  })
})
