/**
 * Clean-up on every way out of the loop, on a pool of ONE connection, so that any leak shows: after
 * `break`, a throw in the loop body, `return()`, an abort through `signal`, a database error, and
 * completion, the pool's connection is idle and hands out the next query at once, and no session of
 * the test database is left inside a transaction. An iterator that is never started sends nothing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { collect } from '#src/conformance/expect-entities'
import type { FixtureDriver, FixtureOrm, FixtureQuery } from '#src/conformance/fixture-driver'
import { expectSettled } from '#src/conformance/settled'
import { useTestDatabase } from '#src/vitest'

const queries: readonly { readonly name: string; readonly query: FixtureQuery }[] = [
  {
    name: 'books with their tags (many-to-many)',
    query: { table: 'books', include: 'tags', orderBy: [{ column: 'id', direction: 'asc' }] },
  },
  { name: 'books with their author (to-one)', query: { table: 'books', include: 'author' } },
]

/** Registers the clean-up scenario for `driver`: every strategy of the dialect, each query, each way out. */
export function defineCleanupSuite(driver: FixtureDriver): void {
  const { dialect, errors } = driver
  const db = useTestDatabase(dialect, { seed: true })
  const strategies = dialect === 'postgres' ? (['keyset', 'cursor'] as const) : (['keyset'] as const)

  describe.each(strategies)("strategy '%s' on a pool of one connection", (strategy) => {
    let orm: FixtureOrm
    beforeEach(async () => {
      orm = await driver.open(db.url, { poolSize: 1 })
    })
    afterEach(async () => {
      try {
        expect(await expectSettled(orm, db.url)).toHaveLength(db.dataset.books.length)
      } finally {
        await orm.close()
      }
    })

    describe.each(queries)('$name', ({ query }) => {
      it('break after the first batch', async () => {
        let batches = 0
        for await (const batch of orm.aiterator(query, { strategy, chunkSize: 25, batchYieldSize: 10 })) {
          expect(batch).toHaveLength(10)
          batches++
          break
        }
        expect(batches).toBe(1)
      })

      it('a throw in the loop body reaches the caller', async () => {
        const failure = new Error('consumer failed')
        let batches = 0
        await expect(
          (async () => {
            for await (const _ of orm.aiterator(query, { strategy, chunkSize: 25, batchYieldSize: 10 }))
              if (++batches === 3) throw failure
          })(),
        ).rejects.toBe(failure)
        expect(batches).toBe(3)
      })

      it('return() on a started iterator, between batches', async () => {
        const iterator = orm.aiterator(query, { strategy, chunkSize: 7, batchYieldSize: 5 })
        expect((await iterator.next()).value).toHaveLength(5)
        expect((await iterator.next()).value).toHaveLength(5)
        expect(await iterator.return!()).toEqual({ done: true, value: undefined })
      })

      it('an iterator that is never started sends no statement', () => {
        const before = orm.statements()
        orm.aiterator(query, { strategy, chunkSize: 30, batchYieldSize: 10 })
        expect(orm.statements()).toBe(before)
      })

      it('an abort through the signal ends the loop with its reason', async () => {
        const controller = new AbortController()
        const reason = new Error('stop requested')
        let seen = 0
        let batches = 0
        await expect(
          (async () => {
            for await (const batch of orm.aiterator(query, {
              strategy,
              chunkSize: 10,
              batchYieldSize: 10,
              signal: controller.signal,
            })) {
              seen += (batch as object[]).length
              if (++batches === 3) controller.abort(reason)
            }
          })(),
        ).rejects.toBe(reason)
        expect({ seen, batches }).toEqual({ seen: 30, batches: 3 })
      })

      it('completion', async () => {
        const batches = (await collect(
          orm.aiterator(query, { strategy, chunkSize: 50, batchYieldSize: 64 }),
        )) as object[][]
        expect(batches.flat()).toHaveLength(db.dataset.books.length)
      })
    })

    it('a database error at the first query (an unknown column) rejects the loop with the ORM’s database error', async () => {
      const failing = orm.aiterator(
        { table: 'books', whereExpression: { sql: 'no_such_column', op: '=', value: 1 } },
        { strategy, chunkSize: 30, batchYieldSize: 10 },
      )
      const error = await collect(failing).then(
        () => undefined,
        (thrown: unknown) => thrown,
      )
      expect(error).toBeInstanceOf(errors.DatabaseError)
      expect(String((error as Error).message)).toMatch(/no_such_column/)
    })

    if (dialect === 'postgres') {
      it('a database error in the middle of the scan (division by zero on the rows with rating 3) rejects the loop', async () => {
        const query: FixtureQuery = {
          table: 'books',
          whereExpression: { sql: '100 / (rating - 3)', op: '<>', value: 0 },
          orderBy: [{ column: 'id', direction: 'asc' }],
        }
        const run = async () => {
          for await (const batch of orm.aiterator(query, { strategy, chunkSize: 10, batchYieldSize: 10 }))
            expect((batch as object[]).length).toBeGreaterThan(0)
        }
        await expect(run()).rejects.toThrow(/division by zero/)
      })
    }
  })
}
