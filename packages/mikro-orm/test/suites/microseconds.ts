/**
 * Timestamps with microseconds as keyset sort keys. PostgreSQL `timestamptz` and MariaDB
 * `datetime(6)` keep microseconds; MikroORM hydrates a millisecond `Date`. Here many rows share
 * one millisecond and differ only in their microseconds, and chunks end inside that millisecond
 * (or lie entirely inside it): every row must still come exactly once, in em.find's order, and a
 * resume token taken inside the millisecond must resume exactly.
 */
import { type Dialect, withConnection } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import '../../src/index.js'
import { Book, Device } from '../entities.js'
import { collectBatches, openOrm, pkOf, type TestOrm, withTieBreaker } from '../support.js'

export function defineMicrosecondSuite(dialect: Dialect): void {
  const db = useTestDatabase(dialect, { seed: true })
  let t: TestOrm
  beforeAll(async () => {
    // Books 1..60: millisecond .000, microseconds 1..60 (some pairs equal, so the id breaks ties).
    // Books 61..120: millisecond .001, microseconds in reverse id order. Others keep their value (NULLs too).
    const at = (us: number): string => `2024-01-01 00:00:00.${String(us).padStart(6, '0')}`
    const p = (i: number): string => (dialect === 'postgres' ? `$${i}` : '?')
    await withConnection(db.url, async (c) => {
      for (let id = 1; id <= 120; id++) {
        const us = id <= 60 ? Math.ceil(id / 2) * 2 - (id % 3 === 0 ? 1 : 0) : 1000 + (121 - id)
        await c.query(`update books set published_at = ${p(1)} where id = ${p(2)}`, [at(us), id])
      }
      await c.query(`update devices set registered_at = ${p(1)}`, [at(999)])
    })
    t = openOrm(dialect, db.url)
  })
  afterAll(() => t?.close())

  const orders = [
    { publishedAt: 'asc' },
    { publishedAt: 'desc' },
    { publishedAt: 'desc nulls last' },
    [{ rating: 'desc' }, { publishedAt: 'asc' }],
  ] as const

  describe('keyset over a timestamp column with microseconds', () => {
    it('the fixture rows share milliseconds and differ in microseconds', async () => {
      const sql =
        dialect === 'postgres'
          ? `select count(distinct published_at)::int as n from books where id <= 60`
          : `select count(distinct published_at) as n from books where id <= 60`
      const [row] = await withConnection(db.url, (c) => c.query<{ n: number }>(sql))
      expect(Number(row!.n)).toBeGreaterThan(30)
      const books = await t.em.fork().find(Book, { id: { $lte: 60 } })
      expect(new Set(books.map((b) => b.publishedAt!.getTime())).size).toBe(1)
    })

    for (const orderBy of orders) {
      for (const chunkSize of [7, 50]) {
        it(`orderBy ${JSON.stringify(orderBy)}, chunkSize ${chunkSize}: every row once, in em.find's order`, async () => {
          const expected = await t.em.fork().find(Book, {}, { orderBy: withTieBreaker(orderBy, ['id']) as never })
          // limit guards against the endless loop a chunk inside one millisecond used to cause
          const batches = await collectBatches(
            t.em.aiterator(Book, {
              orderBy: orderBy as never,
              chunkSize,
              batchYieldSize: 10,
              limit: expected.length + 50,
            }),
          )
          expect(batches.flat().map(pkOf)).toEqual(expected.map(pkOf))
        })
      }
    }

    it('a UUID-keyed table whose rows all share one microsecond: ties broken by the key', async () => {
      const expected = await t.em.fork().find(Device, {}, { orderBy: [{ registeredAt: 'desc' }, { id: 'desc' }] })
      const batches = await collectBatches(
        t.em.aiterator(Device, {
          orderBy: { registeredAt: 'desc' },
          chunkSize: 3,
          batchYieldSize: 4,
          limit: expected.length + 10,
        }),
      )
      expect(batches.flat().map(pkOf)).toEqual(expected.map(pkOf))
    })

    it('one entity at a time (no batchYieldSize): a token taken after any row resumes exactly', async () => {
      const options = { orderBy: { publishedAt: 'desc' }, chunkSize: 8 } as const
      const full: string[] = []
      const tokens: string[] = []
      for await (const book of t.em.aiterator(Book, { ...options, onProgress: (p) => tokens.push(p.cursor!) }))
        full.push(pkOf(book))
      expect(tokens).toHaveLength(full.length)
      // resume after rows inside millisecond .000 (ids 1..60), and after the row before the first of them
      const first = full.findIndex((pk) => Number(JSON.parse(pk)) <= 60)
      for (const at of [first - 1, first, first + 7, first + 30]) {
        const rest: string[] = []
        for await (const book of t.em.aiterator(Book, { ...options, after: tokens[at], limit: full.length }))
          rest.push(pkOf(book))
        expect([...full.slice(0, at + 1), ...rest]).toEqual(full)
      }
    })

    it('inside em.transactional on a pool of one: the exact-text reads run in the transaction', async () => {
      const one = openOrm(dialect, db.url, { pool: { min: 0, max: 1 } })
      try {
        const expected = await one.em.fork().find(Book, {}, { orderBy: [{ publishedAt: 'asc' }, { id: 'asc' }] })
        const ids = await one.em.transactional(async (em) => {
          const seen: string[] = []
          for await (const books of em.aiterator(Book, {
            orderBy: { publishedAt: 'asc' },
            chunkSize: 6,
            batchYieldSize: 4,
            limit: expected.length + 10,
          })) {
            seen.push(...books.map(pkOf))
            await em.count(Book) // the loop body can use the same connection
          }
          return seen
        })
        expect(ids).toEqual(expected.map(pkOf))
      } finally {
        await one.close()
      }
    })

    it("a chunk's last row deleted by another session between the chunk query and the exact-text read: the chunk is read again, every other row once", async () => {
      const where = { id: { $gte: 61, $lte: 120 } }
      const expected = (await t.em.fork().find(Book, where, { orderBy: [{ publishedAt: 'asc' }, { id: 'asc' }] })).map(
        (b) => b.id,
      )
      const target = expected[6]! // the last row of the first chunk
      let deleted = false
      // onLoad runs (awaited) inside the chunk's em.find, after its rows were read
      const subscriber = {
        async onLoad({ entity }: { entity: object }) {
          if (deleted || !(entity instanceof Book) || entity.id !== target) return
          deleted = true
          const p = (i: number): string => (dialect === 'postgres' ? `$${i}` : '?')
          await withConnection(db.url, async (c) => {
            await c.query(`delete from book_tags where book_id = ${p(1)}`, [target])
            await c.query(`delete from books where id = ${p(1)}`, [target])
          })
        },
      }
      const watched = openOrm(dialect, db.url, { subscribers: [subscriber] })
      try {
        const ids = (
          await collectBatches(
            watched.em.aiterator(Book, {
              where,
              orderBy: { publishedAt: 'asc' },
              chunkSize: 7,
              batchYieldSize: 7,
              limit: expected.length + 10,
            }),
          )
        )
          .flat()
          .map((b) => b.id)
        expect(deleted).toBe(true)
        expect(ids).toEqual(expected.filter((id) => id !== target))
      } finally {
        await watched.close()
      }
    })

    for (const orderBy of [{ publishedAt: 'asc' }, { publishedAt: 'desc' }] as const) {
      it(`resume after a crash from a token taken inside a millisecond (${orderBy.publishedAt})`, async () => {
        const options = { orderBy, chunkSize: 9, batchYieldSize: 5 } as const
        const full = (await collectBatches(t.em.aiterator(Book, options))).flat().map(pkOf)
        // crash right after a batch that ends inside millisecond .000, with more of it still to come
        const sameMillisecond = (pk: string | undefined): boolean => pk !== undefined && Number(JSON.parse(pk)) <= 60
        const crashPoints = full
          .map((_, i) => i)
          .filter((i) => (i + 1) % 5 === 0 && sameMillisecond(full[i]) && sameMillisecond(full[i + 1]))
          .map((i) => (i + 1) / 5)
        expect(crashPoints.length).toBeGreaterThan(3)
        for (const crashAfter of [
          crashPoints[0]!,
          crashPoints[Math.floor(crashPoints.length / 2)]!,
          crashPoints.at(-1)!,
        ]) {
          const done: string[] = []
          let token: string | undefined
          await expect(
            (async () => {
              let n = 0
              for await (const books of t.em.aiterator(Book, { ...options, onProgress: (p) => (token = p.cursor) })) {
                done.push(...books.map(pkOf))
                if (++n === crashAfter) throw new Error('worker crashed')
              }
            })(),
          ).rejects.toThrow('worker crashed')
          const rest = (await collectBatches(t.em.aiterator(Book, { ...options, after: token, limit: full.length })))
            .flat()
            .map(pkOf)
          expect([...done, ...rest]).toEqual(full)
        }
      })
    }
  })
}
