import { terminateSessions } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { DriverException } from '@mikro-orm/core'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import '../src/index.js'
import { Book } from './entities.js'
import { idleInTransaction, openOrm, pkOf, type TestOrm, within } from './support.js'

const db = useTestDatabase('postgres', { seed: true })

describe('the database session is killed mid-iteration (pg_terminate_backend), pool of one', () => {
  let t: TestOrm
  beforeEach(() => {
    t = openOrm('postgres', db.url, { pool: { min: 0, max: 1 } })
  })
  afterEach(async () => {
    // one retry: pg may hand out the killed client once before it notices the connection is gone
    const count = () => t.em.fork().count(Book)
    expect(await within(5_000, count().catch(count), 'a query after the fault')).toBe(db.dataset.books.length)
    expect(await idleInTransaction(db.url, db.name)).toBe(0)
    await t.close()
  })

  it('keyset: the run either continues on a fresh connection, or fails with a clear driver error and resumes from its last token; each row once', async () => {
    const ids: string[] = []
    let token: string | undefined
    let killed = 0
    const run = async (after?: string): Promise<void> => {
      for await (const books of t.em.aiterator(Book, { chunkSize: 50, batchYieldSize: 50, prefetch: 0, after, onProgress: (p) => (token = p.cursor) })) {
        ids.push(...books.map(pkOf))
        if (killed === 0) killed = (await terminateSessions(db.url)).length
      }
    }
    // The pool drops the killed connection when pg reports it; a chunk query that wins that race
    // fails on the dead connection instead (pg may even hand the dead client out once more).
    // Either way the error is a DriverException and the last token resumes the run.
    let attempts = 0
    for (let after: string | undefined; ; after = token) {
      attempts++
      const failure = await within(15_000, run(after), 'keyset run across a killed session').then(
        () => undefined,
        (error: unknown) => error,
      )
      if (failure === undefined) break
      expect(failure).toBeInstanceOf(DriverException)
      expect(String((failure as Error).message)).toMatch(/terminat|connection/i)
      expect(attempts).toBeLessThan(3)
    }
    expect(killed).toBe(1)
    expect(ids).toHaveLength(db.dataset.books.length)
    expect(new Set(ids).size).toBe(ids.length)
  })
})

describe('cursor: the session is killed mid-run (known upstream limitation)', () => {
  it('the pending read never settles (Kysely awaits pg-cursor close(), which waits forever on a dead connection), so a signal is what ends the loop', async () => {
    const t = openOrm('postgres', db.url, { pool: { min: 0, max: 2 } })
    try {
      let batches = 0
      const run = (async () => {
        const signal = AbortSignal.timeout(2_000)
        for await (const _ of t.em.aiterator(Book, { strategy: 'cursor', chunkSize: 20, batchYieldSize: 20, prefetch: 0, signal })) {
          if (++batches === 1) expect(await terminateSessions(db.url)).toHaveLength(1)
        }
      })()
      await expect(within(10_000, run, 'cursor run across a killed session')).rejects.toThrow(/aborted due to timeout/)
      expect(batches).toBe(1)
      // the other pool connection still works; the killed one stays checked out (documented in the README)
      expect(await within(5_000, t.em.fork().count(Book), 'a query after the fault')).toBe(db.dataset.books.length)
      expect(await idleInTransaction(db.url, db.name)).toBe(0)
    } finally {
      // orm.close() would wait for the lost connection forever
      await Promise.race([t.close(), new Promise((resolve) => setTimeout(resolve, 1_000).unref())])
    }
  })
})
