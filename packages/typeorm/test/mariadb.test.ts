import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import type { DataSource, ObjectLiteral, SelectQueryBuilder } from 'typeorm'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { aiterator, KeysetOrderingError, StrategyUnavailableError } from '../src/index.js'
import { collect } from './support/collect.js'
import { openDataSource, QueryCounter } from './support/data-source.js'
import { Book, Country, OrderLine } from './support/entities.js'

// MariaDB has keyset only (the shape suite runs there too). What it cannot do fails at the call,
// before any query, saying what to change.

class CapturingLogger extends QueryCounter {
  parameters: unknown[][] = []
  override logQuery(query: string, parameters?: unknown[]): void {
    super.logQuery(query)
    this.parameters.push(parameters ?? [])
  }
}

const db = useTestDatabase('mariadb', { seed: true })
const logger = new CapturingLogger()
let ds: DataSource
beforeAll(async () => {
  ds = await openDataSource('mariadb', db.url, { logger })
})
afterAll(async () => {
  await ds?.destroy()
})
beforeEach(() => {
  logger.queries = []
  logger.parameters = []
})

const books = () => ds.getRepository(Book).createQueryBuilder('b')

describe('what MariaDB cannot do fails at the call', () => {
  it("strategy 'cursor' is a StrategyUnavailableError that points to keyset", () => {
    expect(() => aiterator(books(), { strategy: 'cursor' })).toThrow(StrategyUnavailableError)
    expect(() => aiterator(books(), { strategy: 'cursor' })).toThrow(
      /strategy 'cursor' needs server-side cursors, which MariaDB\/MySQL does not offer.*use strategy 'keyset'/,
    )
    expect(logger.queries).toEqual([])
  })

  it('auto with an ORDER BY expression explains that there is no cursor to fall back to', () => {
    const call = () => aiterator(books().orderBy('LOWER(b.title)'))
    expect(call).toThrow(KeysetOrderingError)
    expect(call).toThrow(
      /on MariaDB\/MySQL: ORDER BY LOWER\(b\.title\) is not a column of the root entity Book.*has no server-side cursors/,
    )
    expect(logger.queries).toEqual([])
  })

  it('a NULL placement MariaDB cannot write (ASC NULLS LAST)', () => {
    expect(() => aiterator(books().orderBy('b.publishedAt', 'ASC', 'NULLS LAST'))).toThrow(
      /NULLS LAST cannot be written on MariaDB\/MySQL, which puts NULLs first for ASC/,
    )
    expect(logger.queries).toEqual([])
  })
})

describe('keyset on MariaDB', () => {
  it('resumes after a crash with hostile string keys', async () => {
    const query = () => ds.getRepository(Country).createQueryBuilder('c').orderBy('c.code', 'DESC')
    const everything = (await collect(aiterator(query(), { batchYieldSize: 500 }))).flat()
    let reported: string | undefined
    let token: string | undefined
    const handled: Country[] = []
    await expect(async () => {
      for await (const batch of aiterator(query(), {
        batchYieldSize: 9,
        chunkSize: 4,
        onProgress: (p) => (reported = p.cursor),
      })) {
        if (handled.length >= 27) throw new Error('crash')
        handled.push(...batch)
        token = reported
      }
    }).rejects.toThrow('crash')
    const rest = (await collect(aiterator(query(), { batchYieldSize: 9, after: token }))).flat()
    expect([...handled, ...rest]).toStrictEqual(everything)
  })

  it.each(['ASC', 'DESC'] as const)(
    'the seek query %s is a range on the (published_at, id) index (EXPLAIN)',
    async (order) => {
      let batches = 0
      for await (const _ of aiterator(books().orderBy('b.publishedAt', order), {
        batchYieldSize: 40,
        chunkSize: 40,
        prefetch: 0,
      }))
        batches++
      expect(batches).toBe(10)
      const seeks = logger.queries
        .map((sql, i) => ({ sql, parameters: logger.parameters[i]! }))
        .filter(({ sql }) => /FROM `books`.* WHERE /.test(sql))
      expect(seeks.length).toBeGreaterThanOrEqual(9)
      for (const { sql, parameters } of seeks) {
        const [plan]: { type: string; key: string | null; Extra: string }[] = await ds.query(
          `EXPLAIN ${sql}`,
          parameters,
        )
        expect(plan!.key).toBe('books_published_at_id_idx')
        expect(['range', 'ref', 'ref_or_null']).toContain(plan!.type)
        expect(plan!.Extra).not.toMatch(/filesort/)
      }
    },
  )

  it.each([
    {
      name: 'composite primary key (order_id, line_no)',
      table: 'order_lines',
      query: () => ds.getRepository(OrderLine).createQueryBuilder('l').orderBy('l.orderId').addOrderBy('l.lineNo'),
    },
    {
      name: 'string primary key, DESC',
      table: 'countries',
      query: () => ds.getRepository(Country).createQueryBuilder('c').orderBy('c.code', 'DESC'),
    },
  ])('the seek query on a $name is a range on PRIMARY (EXPLAIN)', async ({ table, query }) => {
    let batches = 0
    for await (const _ of aiterator(query() as SelectQueryBuilder<ObjectLiteral>, {
      batchYieldSize: 10,
      chunkSize: 10,
      prefetch: 0,
    }))
      batches++
    expect(batches).toBeGreaterThan(3)
    const seeks = logger.queries
      .map((sql, i) => ({ sql, parameters: logger.parameters[i]! }))
      .filter(({ sql }) => new RegExp(`FROM \`${table}\`.* WHERE `).test(sql))
    expect(seeks.length).toBeGreaterThanOrEqual(batches - 1)
    for (const { sql, parameters } of seeks) {
      const [plan]: { type: string; key: string | null; Extra: string }[] = await ds.query(`EXPLAIN ${sql}`, parameters)
      expect(plan!.key).toBe('PRIMARY')
      expect(plan!.type).toBe('range')
      expect(plan!.Extra).not.toMatch(/filesort/)
    }
  })
})
