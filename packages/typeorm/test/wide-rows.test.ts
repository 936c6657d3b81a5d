import 'reflect-metadata'
import { dialects } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { Column, DataSource, Entity, PrimaryColumn } from 'typeorm'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { aiterator } from '../src/index.js'
import { QueryCounter } from './support/data-source.js'

// maxChunkBytes: wide rows come a few at a time, whatever chunkSize says. What each round trip
// asked for is read from the SQL the logger saw (LIMIT n for keyset, FETCH FORWARD n for the cursor).

@Entity('wide_rows')
class WideRow {
  @PrimaryColumn('int')
  id!: number

  @Column({ type: 'text' })
  payload!: string
}

const ROWS = 120
const WIDTH = 200_000

describe.each(dialects)('wide rows on %s', (dialect) => {
  const db = useTestDatabase(dialect, { schema: false })
  const logger = new QueryCounter()
  let ds: DataSource
  beforeAll(async () => {
    ds = new DataSource({
      type: dialect === 'postgres' ? 'postgres' : 'mariadb',
      url: db.url,
      entities: [WideRow],
      synchronize: true,
      logger,
      logging: true,
    })
    await ds.initialize()
    if (dialect === 'mariadb') await ds.query('ALTER TABLE wide_rows MODIFY payload LONGTEXT NOT NULL')
    for (let id = 1; id <= ROWS; id += 20) {
      const values = Array.from(
        { length: 20 },
        (_, i) => `(${id + i}, REPEAT('${String.fromCharCode(97 + ((id + i) % 26))}', ${WIDTH}))`,
      )
      await ds.query(`INSERT INTO wide_rows (id, payload) VALUES ${values.join(', ')}`)
    }
  })
  afterAll(async () => {
    await ds?.destroy()
  })
  beforeEach(() => {
    logger.queries = []
  })

  /** The row counts the chunk queries asked for, in order. */
  const requested = (): number[] =>
    logger.queries.flatMap((sql) => {
      const match = /FETCH FORWARD (\d+)|LIMIT (\d+)/.exec(sql)
      return match === null || !/wide_rows|FETCH/.test(sql) ? [] : [Number(match[1] ?? match[2])]
    })

  const strategies = dialect === 'postgres' ? (['keyset', 'cursor'] as const) : (['keyset'] as const)
  for (const strategy of strategies) {
    for (const prefetch of [0, 1]) {
      it(`${strategy}, prefetch ${prefetch}: after the first batch each round trip asks for what fits in maxChunkBytes; the entities equal getMany()`, async () => {
        const query = () => ds.getRepository(WideRow).createQueryBuilder('w').orderBy('w.id', 'ASC')
        const expected = await query().getMany()
        logger.queries = []
        const got: WideRow[] = []
        for await (const batch of aiterator(query(), {
          strategy,
          prefetch,
          batchYieldSize: 25,
          chunkSize: 2000,
          maxChunkBytes: 2_000_000,
        }))
          got.push(...batch)
        expect(got).toStrictEqual(expected)
        const sizes = requested()
        expect(sizes[0]).toBe(25) // the first batch
        const fit = Math.floor(2_000_000 / WIDTH)
        expect(Math.max(...sizes.slice(1))).toBeLessThanOrEqual(fit)
        expect(sizes.length).toBeGreaterThanOrEqual(Math.ceil((ROWS - 25) / fit))
      })
    }
  }

  it('the default bound (16 MiB) reads 200 kB rows well below chunkSize at a time; Infinity turns it off', async () => {
    const query = () => ds.getRepository(WideRow).createQueryBuilder('w').orderBy('w.id', 'DESC')
    let rows = 0
    for await (const batch of aiterator(query(), { strategy: 'keyset', batchYieldSize: 10, chunkSize: 2000 }))
      rows += batch.length
    expect(rows).toBe(ROWS)
    const [first, ...rest] = requested()
    expect(first).toBe(10) // the first batch, read before any width is known
    // 16 MiB of 200 kB rows: 83 rows (a little fewer for the estimate's overhead), not 2000
    expect(Math.max(...rest)).toBeLessThanOrEqual(Math.floor((16 * 1024 * 1024) / WIDTH))
    expect(Math.max(...rest)).toBeGreaterThan(60)
    logger.queries = []
    for await (const batch of aiterator(query(), {
      strategy: 'keyset',
      batchYieldSize: 500,
      chunkSize: 2000,
      maxChunkBytes: Number.POSITIVE_INFINITY,
    }))
      rows += batch.length
    expect(requested()).toEqual([500])
  })
})
