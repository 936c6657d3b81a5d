/**
 * After a run: the ORM's pool is idle with nobody waiting, no session of the database is inside a
 * transaction, and the pool hands out the next query at once. Polled for a bounded time, because
 * after an abort the loop ends at once and the source closes when its in-flight query settles; a
 * leaked connection or an open transaction never settles, so a leak fails.
 */
import { expect } from 'vitest'
import type { FixtureOrm } from '#src/conformance/fixture-driver'
import { listSessions } from '#src/sessions'

/** Asserts that `orm` (on the database `url`) settled; returns the books the next query read. */
export async function expectSettled(orm: FixtureOrm, url: string, waitMs = 3_000): Promise<object[]> {
  const deadline = Date.now() + waitMs
  for (;;) {
    const pool = await orm.poolState()
    const inTransaction = (await listSessions(url)).filter((session) => session.inTransaction)
    const settled =
      inTransaction.length === 0 && (pool === undefined || (pool.waiting === 0 && pool.idle === pool.total))
    if (settled || Date.now() > deadline) {
      expect(inTransaction).toEqual([])
      if (pool !== undefined)
        expect({ idle: pool.idle, waiting: pool.waiting }).toEqual({ idle: pool.total, waiting: 0 })
      break
    }
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    return await Promise.race([
      orm.find({ table: 'books' }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('the pool did not hand out a connection within 5 s')), 5_000)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}
