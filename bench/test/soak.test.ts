import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createTestDatabase, type TestDatabase } from '@batchyield/test-fixtures'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureEventsRows } from '../src/events-table.ts'
import {
  busySessions,
  IdTally,
  listApplicationSessions,
  readTableTotals,
  soakFailures,
  type SoakResult,
  tallyProblems,
  waitForIdlePool,
} from '../src/soak-checks.ts'
import type { SoakRun } from '../src/soak-report.ts'

const rows = 2000
const concurrency = 3
let db: TestDatabase
let outDir: string

beforeAll(async () => {
  db = await createTestDatabase({ dialect: 'postgres' })
  await ensureEventsRows(db.url, rows)
  outDir = await mkdtemp(join(tmpdir(), 'batchyield-soak-'))
})
afterAll(async () => {
  await db?.drop()
  if (outDir) await rm(outDir, { recursive: true, force: true })
})

/** Runs `npm run soak`'s script (same Node binary) and resolves with its exit code and stderr. */
function runSoak(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  const script = fileURLToPath(new URL('../src/soak.ts', import.meta.url))
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stderr }))
  })
}

describe('soak (small scale, real PostgreSQL)', () => {
  it(`runs ${concurrency} loops over ${rows} rows on one pool per adapter and strategy: every row once, pool idle, no session left`, async () => {
    const { code, stderr } = await runSoak([
      '--url',
      db.url,
      '--rows',
      `${rows}`,
      '--concurrency',
      `${concurrency}`,
      '--strategy',
      'both',
      '--pool-max',
      '4',
      '--chunk-size',
      '300',
      '--batch-size',
      '70',
      '--out',
      outDir,
    ])
    expect(code, stderr).toBe(0)
    const report = JSON.parse(await readFile(join(outDir, 'soak.json'), 'utf8')) as { passed: boolean; runs: SoakRun[] }
    expect(report.passed).toBe(true)
    // Each adapter and strategy: one loop alone (the yardstick), then the concurrent loops.
    expect(
      report.runs.map((run) => `${run.request.adapter} ${run.request.strategy} x${run.request.concurrency}`),
    ).toEqual([
      'typeorm keyset x1',
      `typeorm keyset x${concurrency}`,
      'typeorm cursor x1',
      `typeorm cursor x${concurrency}`,
      'mikro-orm keyset x1',
      `mikro-orm keyset x${concurrency}`,
      'mikro-orm cursor x1',
      `mikro-orm cursor x${concurrency}`,
    ])
    for (const run of report.runs) {
      if (!('result' in run)) throw new Error(run.error)
      const r = run.result
      expect(run.failures).toEqual([])
      expect(r.totals).toEqual({ count: rows, idSum: `${(rows * (rows + 1)) / 2}`, minId: 1, maxId: rows })
      expect(r.iterations).toHaveLength(run.request.concurrency)
      for (const iteration of r.iterations) {
        expect(iteration).toMatchObject({
          rows,
          batches: Math.ceil(rows / 70),
          idSum: r.totals.idSum,
          duplicates: 0,
          outOfRange: 0,
          missing: 0,
        })
        expect(iteration.error).toBeUndefined()
      }
      // One pool shared by the loops: more than one connection at once, never more than its max.
      if (run.request.concurrency > 1) expect(r.poolPeak.total).toBeGreaterThan(1)
      expect(r.poolPeak.total).toBeLessThanOrEqual(4)
      expect(r.poolAtEnd.idle).toBe(r.poolAtEnd.total)
      expect(r.poolAtEnd.waiting).toBe(0)
      // The session check found the pool's sessions by application_name, all plainly idle, and none after close.
      expect(r.sessionsAtEnd.length).toBeGreaterThan(0)
      expect(r.sessionsAtEnd.every((s) => s.state === 'idle' && !s.inTransaction)).toBe(true)
      expect(r.sessionsAfterClose).toEqual([])
      expect(r.maxRssBytes).toBeGreaterThan(r.setupRssBytes / 2)
    }
    const markdown = await readFile(join(outDir, 'soak.md'), 'utf8')
    expect(markdown).toContain(`# batchyield soak: ${concurrency} concurrent iterations over 2,000 rows`)
    expect(markdown).toContain(`| MikroORM | cursor | ${concurrency} | 6,000 |`)
    expect(markdown).toMatch(/\| MikroORM \| cursor \| 1 \| 2,000 \| [^|]+ \| [^|]+ \| — \|/)
    expect(markdown).toMatch(
      new RegExp(`\\| TypeORM \\| keyset \\| ${concurrency} \\| 6,000 \\| [^|]+ \\| [^|]+ \\| \\d+\\.\\d\\dx \\|`),
    )
    expect(markdown).toContain('All passed')
  }, 240_000) // eight child processes (a yardstick and a concurrent run per adapter and strategy), each starting Node and an ORM

  it('exits 1 on a bad option and on an unreachable database', async () => {
    const { code, stderr } = await runSoak([
      '--url',
      db.url,
      '--rows',
      `${rows}`,
      '--concurrency',
      '2',
      '--adapters',
      'typeorm',
      '--pool-max',
      '0',
      '--out',
      outDir,
    ])
    expect(code).toBe(1)
    expect(stderr).toMatch(/--pool-max must be a positive integer/)
    const { code: badUrl, stderr: badUrlOutput } = await runSoak([
      '--url',
      'postgres://postgres@127.0.0.1:1/none',
      '--rows',
      '10',
      '--out',
      outDir,
    ])
    expect(badUrl).toBe(1)
    expect(badUrlOutput).toMatch(/ECONNREFUSED/)
  })
})

describe('soak checks fail on what they guard against', () => {
  const totals = { count: 5, idSum: '15', minId: 1, maxId: 5 }

  it('IdTally: a repeated, a missing and a foreign id each fail, every row once passes', () => {
    const once = new IdTally(totals)
    once.add([{ id: '1' }, { id: '2' }])
    once.add([{ id: '3' }, { id: '4' }, { id: '5' }])
    expect(tallyProblems(once.result(), totals)).toEqual([])

    const repeated = new IdTally(totals)
    repeated.add([{ id: '1' }, { id: '2' }, { id: '3' }, { id: '3' }, { id: '5' }]) // 4 missing, 3 twice: same count
    expect(tallyProblems(repeated.result(), totals)).toEqual([
      '1 row(s) more than once',
      '1 row(s) never seen',
      "sum(id) 14, the table's is 15",
    ])

    const foreign = new IdTally(totals)
    foreign.add([{ id: '1' }, { id: '2' }, { id: '3' }, { id: '4' }, { id: '9' }])
    expect(tallyProblems(foreign.result(), totals)).toEqual([
      '1 id(s) outside 1..5',
      '1 row(s) never seen',
      "sum(id) 10, the table's is 15",
    ])

    const short = new IdTally(totals)
    short.add([{ id: 1 }, { id: 2 }])
    expect(tallyProblems(short.result(), totals)[0]).toBe('read 2 rows, the table holds 5')
  })

  it('soakFailures: a busy pool, a session idle in transaction, a session after close, unnamed sessions', () => {
    const iteration = {
      rows: 5,
      batches: 1,
      idSum: '15',
      duplicates: 0,
      outOfRange: 0,
      missing: 0,
      firstBatchMs: 1,
      wallMs: 2,
    }
    const clean: SoakResult = {
      adapter: 'typeorm',
      strategy: 'keyset',
      concurrency: 2,
      poolMax: 4,
      applicationName: 'soak-test',
      totals,
      iterations: [iteration, iteration],
      wallMs: 2,
      cpuMs: 2,
      gcMs: 1,
      maxRssBytes: 1,
      sampledPeakRssBytes: 1,
      setupRssBytes: 1,
      poolPeak: { total: 2, waiting: 0 },
      poolAtEnd: { total: 2, idle: 2, waiting: 0, settledAfterMs: 0 },
      sessionsAtEnd: [{ pid: 1, state: 'idle', inTransaction: false, query: 'SELECT 1' }],
      sessionsAfterClose: [],
    }
    expect(soakFailures(clean)).toEqual([])
    const leftover = { pid: 7, state: 'idle in transaction', inTransaction: true, query: 'FETCH FORWARD 2000 FROM c' }
    expect(
      soakFailures({
        ...clean,
        iterations: [iteration, { ...iteration, rows: 4, missing: 1, idSum: '10', error: 'Error: boom' }],
        poolAtEnd: { total: 2, idle: 1, waiting: 1, settledAfterMs: null },
        sessionsAtEnd: [...clean.sessionsAtEnd, leftover],
        sessionsAfterClose: [leftover],
      }),
    ).toEqual([
      'iteration 2 threw: Error: boom',
      'iteration 2: read 4 rows, the table holds 5',
      'iteration 2: 1 row(s) never seen',
      "iteration 2: sum(id) 10, the table's is 15",
      'pool not idle at the end: 2 open, 1 idle, 1 waiting',
      'session left busy: pid 7 idle in transaction: FETCH FORWARD 2000 FROM c',
      'session still connected after the pool closed: pid 7 idle in transaction: FETCH FORWARD 2000 FROM c',
    ])
    expect(soakFailures({ ...clean, sessionsAtEnd: [] })).toEqual([
      'no session named soak-test in pg_stat_activity while the pool holds 2 connection(s)',
    ])
    expect(soakFailures({ ...clean, iterations: [iteration] })).toEqual(['1 iterations ran, 2 were asked for'])
  })

  it('finds a real session left idle in transaction by its application_name, and a checked-out connection keeps the pool busy', async () => {
    const applicationName = `soak-test-${process.pid}`
    const pool = new pg.Pool({ connectionString: db.url, max: 2, application_name: applicationName })
    try {
      const client = await pool.connect()
      await client.query('BEGIN')
      await client.query('SELECT count(*) FROM events')
      const sessions = await listApplicationSessions(db.url, applicationName)
      expect(sessions).toHaveLength(1)
      expect(busySessions(sessions)).toEqual([
        expect.objectContaining({ state: 'idle in transaction', inTransaction: true }),
      ])
      expect(await waitForIdlePool(pool, 100)).toEqual({ total: 1, idle: 0, waiting: 0, settledAfterMs: null })
      await client.query('COMMIT')
      client.release()
      expect(busySessions(await listApplicationSessions(db.url, applicationName))).toEqual([])
      expect(await waitForIdlePool(pool, 100)).toEqual({
        total: 1,
        idle: 1,
        waiting: 0,
        settledAfterMs: expect.any(Number),
      })
    } finally {
      await pool.end()
    }
    expect(await readTableTotals(db.url)).toEqual({
      count: rows,
      idSum: `${(rows * (rows + 1)) / 2}`,
      minId: 1,
      maxId: rows,
    })
  })
})
