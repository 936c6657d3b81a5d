import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createTestDatabase, type TestDatabase } from '@batchyield/test-fixtures'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { MachineInfo } from '../src/machine.ts'
import { parseWideModeName } from '../src/modes/wide-common.ts'
import { selectModeNames, wideModeNames } from '../src/modes/registry.ts'
import type { Measurement } from '../src/runner.ts'
import { renderWideReadmeSection, type WideModeSummary } from '../src/wide-report.ts'
import { ensureWideEvents, expectedWideChecksum } from '../src/wide-table.ts'

const shape = { rows: 50, width: 64 * 1024 }
let db: TestDatabase
let outDir: string

beforeAll(async () => {
  db = await createTestDatabase({ dialect: 'postgres' })
  outDir = await mkdtemp(join(tmpdir(), 'batchyield-wide-'))
})
afterAll(async () => {
  await db?.drop()
  if (outDir) await rm(outDir, { recursive: true, force: true })
})

/** Runs `npm run bench:wide`'s script (same Node binary) and resolves with its exit code and stderr. */
function runBenchWide(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  const script = fileURLToPath(new URL('../src/bench-wide.ts', import.meta.url))
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stderr }))
  })
}

describe('bench:wide harness (50 rows of 64 KiB)', () => {
  it('seeds wide_events server-side, reuses it when it holds exactly those rows, and reseeds for another shape', async () => {
    expect(await ensureWideEvents(db.url, shape)).toBe('seeded')
    expect(await ensureWideEvents(db.url, shape)).toBe('reused')
    const client = new pg.Client({ connectionString: db.url })
    await client.connect()
    try {
      const {
        rows: [row],
      } = await client.query<{ count: string; ids: string; bytes: string; distinct: string; head: string }>(
        `SELECT count(*) AS count, sum(id) AS ids, sum(octet_length(payload)) AS bytes, count(DISTINCT payload) AS distinct,
                (SELECT left(payload, 40) FROM wide_events WHERE id = 7) AS head FROM wide_events`,
      )
      expect(row).toEqual({
        count: '50',
        ids: '1275',
        bytes: `${50 * 65536}`,
        distinct: '50',
        head: (await client.query<{ h: string }>("SELECT left(md5('7') || md5('7'), 40) AS h")).rows[0]!.h,
      })
      // TOAST compresses the repeated hex: the table is far smaller than its 3.1 MiB of payload
      const {
        rows: [size],
      } = await client.query<{ bytes: string }>("SELECT pg_total_relation_size('wide_events') AS bytes")
      expect(Number(size!.bytes)).toBeLessThan(1024 * 1024)
    } finally {
      await client.end()
    }
    expect(await ensureWideEvents(db.url, { rows: 50, width: 1000 })).toBe('seeded')
    expect(await ensureWideEvents(db.url, { rows: 49, width: 1000 })).toBe('seeded')
    expect(expectedWideChecksum({ rows: 20_000, width: 2 ** 20 })).toBe((20_000 * 20_001) / 2 + 20_000 * 2 ** 20)
  })

  it('names and selects the eight wide modes', () => {
    expect(wideModeNames).toHaveLength(8)
    expect(
      wideModeNames.map((name) => parseWideModeName(name)).filter((parsed) => parsed?.bound === 'unbounded'),
    ).toHaveLength(4)
    expect(selectModeNames('wide-mikro-*', wideModeNames)).toEqual([
      'wide-mikro-keyset',
      'wide-mikro-cursor',
      'wide-mikro-keyset-unbounded',
      'wide-mikro-cursor-unbounded',
    ])
    expect(() => selectModeNames('wide-nope', wideModeNames)).toThrow(/no mode matches "wide-nope"/)
  })

  it('runs two wide modes in their own processes: every row read once (checksums agree), wide.md and wide.json written', async () => {
    const modes = ['wide-typeorm-keyset', 'wide-mikro-cursor-unbounded']
    const { code, stderr } = await runBenchWide([
      '--url',
      db.url,
      '--rows',
      `${shape.rows}`,
      '--width',
      `${shape.width}`,
      '--runs',
      '1',
      '--batch-size',
      '7',
      '--modes',
      modes.join(','),
      '--out',
      outDir,
    ])
    expect(code, stderr).toBe(0)
    expect(stderr).toContain('seeded wide_events with 50 rows of 65,536 bytes')
    const report = JSON.parse(await readFile(join(outDir, 'wide.json'), 'utf8')) as {
      machine: MachineInfo
      expectedChecksum: number
      summaries: WideModeSummary[]
      measurements: Measurement[]
    }
    expect(report.expectedChecksum).toBe(expectedWideChecksum(shape))
    expect(report.measurements.map((m) => m.request.mode)).toEqual(modes)
    for (const m of report.measurements) {
      if ('error' in m) throw new Error(m.error)
      expect(m.result).toMatchObject({
        rows: shape.rows,
        batches: Math.ceil(shape.rows / 7),
        checksum: report.expectedChecksum,
      })
      expect(m.result.maxRssBytes).toBeGreaterThan(m.result.setupRssBytes / 2)
    }
    expect(report.summaries.map((s) => [s.mode, s.checksumOk, s.metGoal])).toEqual([
      ['wide-typeorm-keyset', true, true],
      ['wide-mikro-cursor-unbounded', true, undefined],
    ])
    const markdown = await readFile(join(outDir, 'wide.md'), 'utf8')
    expect(markdown).toContain('# batchyield wide-row benchmark: 50 rows of 64 KiB (`wide_events`)')
    expect(markdown).toMatch(
      /\| wide-typeorm-keyset \| TypeORM \| keyset \| default \(16 MiB\) \| 50 \|.*\| ok \| yes \(≤ 512 MiB\) \| 1 \|/,
    )
    expect(markdown).toMatch(
      /\| wide-mikro-cursor-unbounded \| MikroORM \| cursor \| `Infinity` \| 50 \|.*\| ok \| — \(not the defaults\) \| 1 \|/,
    )
    expect(markdown).toContain('500 entities of 64 KiB would be a batch of 31.3 MiB')

    const section = renderWideReadmeSection({
      machine: report.machine,
      shape,
      runs: 1,
      batchYieldSize: 7,
      defaults: { chunkSize: 2000, maxChunkBytes: 16 * 2 ** 20, prefetch: 1 },
      goalBytes: 512 * 2 ** 20,
      expectedChecksum: report.expectedChecksum,
      measurements: report.measurements,
      modes: {},
    })
    expect(section).toMatch(/^### Wide rows: memory\n/)
    expect(section).toMatch(/\| TypeORM `aiterator` keyset \| \d+ MiB \| [\d.]+ m?s \| yes \| not run \| — \|/)
    expect(section).not.toContain('MikroORM `em.aiterator` cursor')
  })
})
