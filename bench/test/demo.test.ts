import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createTestDatabase, eventRow, type TestDatabase } from '@batchyield/test-fixtures'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const demo = fileURLToPath(new URL('../src/demo.ts', import.meta.url))
let db: TestDatabase
let out: string

beforeAll(async () => {
  db = await createTestDatabase({ dialect: 'postgres' })
  out = await mkdtemp(join(tmpdir(), 'batchyield-demo-'))
})
afterAll(async () => {
  await db?.drop()
  if (out) await rm(out, { recursive: true, force: true })
})

function runDemo(args: readonly string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [demo, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.setEncoding('utf8').on('data', (text: string) => (output += text))
    child.stderr.setEncoding('utf8').on('data', (text: string) => (output += text))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, output }))
  })
}

describe('npm run demo', () => {
  it('seeds the table, exports it with both adapters in batches, and prints plain progress lines and a summary when not on a terminal', async () => {
    const { code, output } = await runDemo([
      '--url',
      db.url,
      '--rows',
      '1200',
      '--batch-size',
      '100',
      '--chunk-size',
      '300',
      '--out',
      out,
    ])
    expect(code, output).toBe(0)
    expect(output).toContain('Seeded 1,200 rows into events')
    // Not a TTY: no carriage-return redraws, one plain line per update.
    expect(output).not.toContain('\r')
    expect(output).toMatch(/TypeORM {2}: 100% 1,200\/1,200 rows, 12 batches, [\d,]+ rows\/s, done in/)
    expect(output).toMatch(
      /\| TypeORM \| 1,200 \| 12 \| [\d.]+ s \| [\d,]+ \| [\d.]+ MiB \(\+[\d.]+ MiB\) \| .*events-typeorm\.ndjson \|/,
    )
    expect(output).toMatch(/\| MikroORM \| 1,200 \| 12 \|/)
    for (const adapter of ['typeorm', 'mikro-orm']) {
      const lines = (await readFile(join(out, `events-${adapter}.ndjson`), 'utf8')).trimEnd().split('\n')
      expect(lines.map((line) => Number((JSON.parse(line) as { id: string }).id))).toEqual(
        Array.from({ length: 1200 }, (_, i) => i + 1),
      )
      const row = eventRow(1200)
      expect(JSON.parse(lines[1199]!)).toMatchObject({
        kind: row.kind,
        amount: row.amount,
        quantity: row.quantity,
        payload: row.payload,
      })
    }
  })

  it('writes CSV with a header and quoted fields when asked, and reuses an already seeded table', async () => {
    const { code, output } = await runDemo([
      '--url',
      db.url,
      '--rows',
      '1200',
      '--format',
      'csv',
      '--adapters',
      'typeorm',
      '--out',
      out,
    ])
    expect(code, output).toBe(0)
    expect(output).toContain('events already holds 1,200 fixture rows')
    const lines = (await readFile(join(out, 'events-typeorm.csv'), 'utf8')).trimEnd().split('\n')
    expect(lines[0]).toBe('id,occurredAt,kind,userId,sessionId,source,country,amount,quantity,isTest,tags,payload')
    expect(lines).toHaveLength(1201)
    // The JSON payload contains quotes and commas: one quoted field, inner quotes doubled.
    const payload = /,"(\{.*\})"$/.exec(lines[1]!)?.[1]
    expect(JSON.parse(payload!.replaceAll('""', '"'))).toEqual(eventRow(1).payload)
    expect(lines[1]!.startsWith(`1,${eventRow(1).occurred_at.toISOString()},${eventRow(1).kind},`)).toBe(true)
  })

  it('explains its options with --help and rejects a bad option value naming it', async () => {
    const help = await runDemo(['--help'])
    expect(help.code).toBe(0)
    expect(help.output).toContain('--rows N')
    expect(help.output).toContain('embedded PostgreSQL')
    const bad = await runDemo(['--url', db.url, '--format', 'xml'])
    expect(bad.code).not.toBe(0)
    expect(bad.output).toContain('--format must be one of ndjson, csv, received "xml"')
  })
})
