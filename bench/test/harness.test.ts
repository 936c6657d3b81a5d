import { createTestDatabase, eventRow, type TestDatabase } from '@batchyield/test-fixtures'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureEventsRows } from '../src/events-table.ts'
import { renderChartSvg } from '../src/report-chart.ts'
import { renderMarkdown } from '../src/report-markdown.ts'
import { runChild, runInterleaved, withBaselineThroughout } from '../src/runner.ts'
import { summarize } from '../src/summary.ts'
import { childNodeArgs, modeNames, wholeTableModes } from '../src/modes/registry.ts'
import { describeMachine } from '../src/machine.ts'

const rows = 300
let db: TestDatabase

beforeAll(async () => {
  db = await createTestDatabase({ dialect: 'postgres' })
})
afterAll(async () => {
  await db?.drop()
})

describe('bench harness (tiny table)', () => {
  it('seeds events once and reuses the table when it already holds exactly those rows', async () => {
    expect(await ensureEventsRows(db.url, rows)).toBe('seeded')
    expect(await ensureEventsRows(db.url, rows)).toBe('reused')
  })

  it('measures each mode in its own process, interleaved, and every mode reads every row once', async () => {
    const expectedChecksum = Array.from({ length: rows }, (_, i) => eventRow(i + 1).quantity).reduce((a, b) => a + b, 0)
    const base = { url: db.url, chunkSize: 70, batchYieldSize: 25 }
    const order: string[] = []
    const optionsAskedFor: string[] = []
    const measurements = await runInterleaved({
      requests: [
        { ...base, mode: 'floor' },
        { ...base, mode: 'typeorm-skip-take' },
        { ...base, mode: 'floor', limit: 100 },
      ],
      runs: 2,
      childOptions: (request) => {
        optionsAskedFor.push(request.mode)
        return { nodeArgs: childNodeArgs(request.mode, 512) }
      },
      onMeasurement: (m) => order.push(`${m.run}:${m.request.mode}${m.request.limit ?? ''}`),
    })
    // Round 2 starts one mode later than round 1.
    expect(order).toEqual([
      '1:floor',
      '1:typeorm-skip-take',
      '1:floor100',
      '2:typeorm-skip-take',
      '2:floor100',
      '2:floor',
    ])
    expect(optionsAskedFor).toEqual(order.map((o) => o.slice(2).replace(/\d+$/, '')))
    for (const m of measurements) {
      if ('error' in m) throw new Error(m.error)
      const expectedRows = m.request.limit ?? rows
      expect(m.result.rows).toBe(expectedRows)
      expect(m.result.batches).toBe(Math.ceil(expectedRows / 70))
      if (m.request.limit === undefined) expect(m.result.checksum).toBe(expectedChecksum)
      expect(m.result.wallMs).toBeGreaterThan(0)
      expect(m.result.firstBatchMs).toBeLessThanOrEqual(m.result.wallMs)
      expect(m.result.maxRssBytes).toBeGreaterThan(m.result.setupRssBytes / 2)
    }

    const summaries = summarize(measurements)
    expect(summaries.map((s) => s.label)).toEqual(['floor', 'typeorm-skip-take', 'floor @100'])
    const machine = await describeMachine(db.url)
    expect(machine.postgres).toMatch(/^PostgreSQL \d+/)
    const markdown = renderMarkdown({
      machine,
      tableRows: rows,
      runs: 2,
      chunkSize: 70,
      batchYieldSize: 25,
      childNodeArgs: { floor: [], 'typeorm-skip-take': ['--max-old-space-size=512'] },
      summaries,
      bar: [],
      modes: {
        floor: { library: 'pg', description: 'floor' },
        'typeorm-skip-take': { library: 'TypeORM', description: 'offset' },
      },
    })
    expect(markdown).toContain('| floor @100 | pg |  | 100 |')
    expect(markdown).toContain(
      "- Child flags: `--max-old-space-size=512` for `typeorm-skip-take`; Node's defaults for every other mode",
    )
    expect(markdown).toContain(machine.postgres)
    expect(markdown).not.toContain('the denominator of every ratio')
    // a floor sampled throughout the rounds (more runs than the other modes) is described with its spacing
    const spread = summaries.map((s) => (s.mode === 'floor' && s.limit === undefined ? { ...s, runs: 5 } : s))
    const withSpreadFloor = renderMarkdown({
      machine,
      tableRows: rows,
      runs: 2,
      chunkSize: 70,
      batchYieldSize: 25,
      childNodeArgs: {},
      summaries: spread,
      bar: [],
      modes: {},
      floorEvery: 3,
    })
    expect(withSpreadFloor).toContain(
      'The floor, the denominator of every ratio, runs once every 3 processes of each round (5 runs in all)',
    )
    const svg = await renderChartSvg(summaries, { floor: 'pg', 'typeorm-skip-take': 'TypeORM' }, 'smoke')
    expect(svg).toMatch(/^<svg[^>]*>/)
    expect(svg).toContain('typeorm-skip-take')
  })

  it('records the paths each aiterator run took, and sets a -public mode beside its fast one', async () => {
    const base = { url: db.url, chunkSize: 70, batchYieldSize: 25 }
    const measurements = await runInterleaved({
      requests: [
        'typeorm-aiterator-cursor-p1',
        'typeorm-aiterator-cursor-p1-public',
        'typeorm-aiterator-keyset-p1-public',
        'mikro-aiterator-keyset-public',
      ].map((mode) => ({ ...base, mode })),
      runs: 1,
      childOptions: { nodeArgs: [] },
    })
    const taken = measurements.map((m) => {
      if ('error' in m) throw new Error(m.error)
      expect(m.result.rows).toBe(rows)
      return [m.request.mode, m.result.paths]
    })
    expect(taken).toEqual([
      ['typeorm-aiterator-cursor-p1', { cursor: 'fast' }],
      ['typeorm-aiterator-cursor-p1-public', { cursor: 'public' }],
      ['typeorm-aiterator-keyset-p1-public', { keyset: 'public' }],
      ['mikro-aiterator-keyset-public', { find: 'public', creator: 'public', pgCallback: 'public' }],
    ])
    const summaries = summarize(measurements)
    const markdown = renderMarkdown({
      machine: await describeMachine(db.url),
      tableRows: rows,
      runs: 1,
      chunkSize: 70,
      batchYieldSize: 25,
      childNodeArgs: {},
      summaries,
      bar: [],
      modes: {},
    })
    expect(markdown).toContain('| typeorm-aiterator-cursor-p1-public |  | cursor public | 300 |')
    expect(markdown).toMatch(
      /- typeorm-aiterator-cursor-p1-public against typeorm-aiterator-cursor-p1 \(cursor fast\): wall time \d+\.\d\dx, peak RSS \d+\.\d\dx/,
    )
    // without its fast counterpart in the run, a public mode gets no ratio
    expect(markdown).not.toContain('typeorm-aiterator-keyset-p1-public against')
  })

  it('gives the larger heap to the whole-table baselines only; every streaming mode runs with Node defaults', () => {
    expect([...wholeTableModes].sort()).toEqual(['mikro-find', 'typeorm-getmany'])
    for (const mode of modeNames) {
      const args = childNodeArgs(mode, 16_384, ['--max-old-space-size=99', '--enable-source-maps'])
      expect(args).toEqual(
        wholeTableModes.has(mode) ? ['--enable-source-maps', '--max-old-space-size=16384'] : ['--enable-source-maps'],
      )
    }
  })

  it('samples the live heap after forced GCs when asked (leak check)', async () => {
    const result = await runChild(
      { url: db.url, chunkSize: 50, batchYieldSize: 50, mode: 'floor', liveHeapEvery: 100 },
      { nodeArgs: ['--expose-gc'] },
    )
    expect(result.liveHeap?.map(([rowsSoFar]) => rowsSoFar)).toEqual([100, 200, 300])
    for (const [, bytes] of result.liveHeap ?? []) expect(bytes).toBeGreaterThan(1024 * 1024)
  })

  it('reports a crashing mode as a failed measurement instead of aborting the run', async () => {
    const [m] = await runInterleaved({
      requests: [{ url: 'postgres://postgres@127.0.0.1:1/none', chunkSize: 10, batchYieldSize: 5, mode: 'floor' }],
      runs: 1,
      childOptions: { nodeArgs: [] },
    })
    expect(m && 'error' in m ? m.error : '').toMatch(/mode "floor" failed \(exit code 1\).*ECONNREFUSED/s)
  })
})

describe('withBaselineThroughout', () => {
  const request = (mode: string, limit?: number) => ({
    url: 'postgres://x',
    chunkSize: 2,
    batchYieldSize: 1,
    mode,
    ...(limit === undefined ? {} : { limit }),
  })
  const modes = (requests: readonly { mode: string; limit?: number }[]) =>
    requests.map((r) => `${r.mode}${r.limit ?? ''}`)

  it('runs the floor before every n-th other request, wherever it was listed, and keeps the others in order', () => {
    const requests = [
      request('a'),
      request('floor'),
      request('b'),
      request('c'),
      request('d'),
      request('e'),
      request('floor', 100),
    ]
    expect(modes(withBaselineThroughout(requests, 'floor', 2))).toEqual([
      'floor',
      'a',
      'b',
      'floor',
      'c',
      'd',
      'floor',
      'e',
      'floor100',
    ])
    expect(modes(withBaselineThroughout(requests, 'floor', 10))).toEqual(['floor', 'a', 'b', 'c', 'd', 'e', 'floor100'])
  })

  it('leaves the requests as they are without a full-table floor, and keeps a floor run alone', () => {
    expect(modes(withBaselineThroughout([request('a'), request('floor', 100)], 'floor', 2))).toEqual(['a', 'floor100'])
    expect(modes(withBaselineThroughout([request('floor')], 'floor', 5))).toEqual(['floor'])
  })
})
