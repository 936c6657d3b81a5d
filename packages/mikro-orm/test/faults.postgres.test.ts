import {
  listSessions,
  openQueryGate,
  quoteIdentifier,
  terminateSessions,
  withConnection,
} from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { ConnectionException, DriverException, raw } from '@mikro-orm/core'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import '../src/index.js'
import { Book } from './entities.js'
import {
  expectSettled,
  idleInTransaction,
  openOrm,
  pgClientOptions,
  poolState,
  pkOf,
  type TestOrm,
  within,
} from './support.js'

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
    await expectSettled(t.orm, db.url, db.name)
    await t.close()
  })

  it('keyset: the run carries on on a fresh connection (a chunk read that reaches the dead one is read again); each row once, in order', async () => {
    const ids: string[] = []
    let killed = 0
    const run = async (): Promise<void> => {
      for await (const books of t.em.aiterator(Book, { chunkSize: 50, batchYieldSize: 50, prefetch: 0 })) {
        ids.push(...books.map(pkOf))
        if (killed === 0) killed = (await terminateSessions(db.url)).length
      }
    }
    // the pool drops the killed connection when pg reports it; a chunk query that wins that race
    // fails on the dead connection (pg may even hand the dead client out once more) and is retried
    await within(15_000, run(), 'keyset run across a killed session')
    expect(killed).toBe(1)
    expect(ids).toEqual(
      db.dataset.books
        .map((b) => b.id)
        .sort((a, b) => a - b)
        .map(String),
    )
  })
})

describe('keyset: the session is killed while a chunk query runs', () => {
  it('with retries: 0 the loop throws a ConnectionException that says how to resume; the resumed run reads every row once', async () => {
    const t = openOrm('postgres', db.url, { pool: { min: 0, max: 1 } })
    try {
      // Once shut, the gate holds the next chunk query at its first row: the kill provably lands mid-statement.
      await using gate = await openQueryGate(db.url)
      const ids: string[] = []
      let token: string | undefined
      const run = async (after?: string, kill = false): Promise<void> => {
        let killed = false
        for await (const books of t.em.aiterator(Book, {
          // a fresh raw() per run: MikroORM 6 reads a raw() key for one run only
          where: { [raw(gate.condition)]: true },
          chunkSize: 20,
          batchYieldSize: 20,
          prefetch: 1,
          after,
          retries: 0,
          onProgress: (p) => (token = p.cursor),
        })) {
          ids.push(...books.map(pkOf))
          if (!kill || killed) continue
          // the read-ahead may have finished before the gate shut: then the next one waits at it
          killed = (await gate.killWaiting()).length > 0
        }
      }
      const error = await within(15_000, run(undefined, true), 'a keyset run across a killed session').then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(ConnectionException)
      expect((error as Error).message).toMatch(
        /^The keyset strategy lost its database connection while reading the chunk after \d+ rows .*terminat.*run again with after set to the last onProgress cursor/s,
      )
      expect((error as Error).cause).toBeInstanceOf(Error)
      expect(ids.length).toBeGreaterThanOrEqual(20)
      expect(ids.length).toBeLessThan(db.dataset.books.length)
      await gate.open()
      // Resume as the message says. pg may hand out the killed client once more before it notices
      // the connection is gone: that attempt fails with the same error, and the next one resumes.
      for (let attempt = 1; ; attempt++) {
        const again = await within(30_000, run(token), 'the resumed run').then(
          () => undefined,
          (e: unknown) => e,
        )
        if (again === undefined) break
        expect(again).toBeInstanceOf(ConnectionException)
        expect(attempt).toBeLessThan(3)
      }
      expect(ids).toHaveLength(db.dataset.books.length)
      expect(new Set(ids).size).toBe(ids.length)
      await gate.close()
      await expectSettled(t.orm, db.url, db.name)
    } finally {
      await t.close()
    }
  })
})

describe('cursor: the database session is killed mid-run (pg_terminate_backend), pool of one', () => {
  let t: TestOrm
  beforeEach(() => {
    t = openOrm('postgres', db.url, { pool: { min: 0, max: 1 } })
  })
  afterEach(async () => {
    await expectSettled(t.orm, db.url, db.name)
    await t.close()
  })

  /** Kills the run's session after its first batch (or while its next chunk is read ahead); returns the error the loop ended with. */
  async function killedRun(prefetch: number): Promise<{ error: unknown; batches: number }> {
    let batches = 0
    const run = (async () => {
      for await (const books of t.em.aiterator(Book, {
        strategy: 'cursor',
        chunkSize: 20,
        batchYieldSize: 20,
        prefetch,
        populate: ['author'],
      })) {
        expect(books).toHaveLength(20)
        if (++batches === 1) expect(await terminateSessions(db.url)).toHaveLength(1)
      }
    })()
    const error = await within(10_000, run, 'cursor run across a killed session').then(
      () => undefined,
      (e: unknown) => e,
    )
    return { error, batches }
  }

  for (const prefetch of [0, 1]) {
    it(`the loop rejects at once with a ConnectionException naming the lost cursor connection (prefetch ${prefetch}); the pool recovers and the next run reads every row`, async () => {
      const { error, batches } = await killedRun(prefetch)
      expect(error).toBeInstanceOf(ConnectionException)
      expect((error as Error).message).toMatch(/cursor strategy lost its database connection/)
      expect((error as Error).cause).toBeInstanceOf(Error)
      // a chunk read ahead before the kill may still be yielded
      expect(batches).toBeGreaterThanOrEqual(1)
      expect(batches).toBeLessThanOrEqual(1 + prefetch)
      // the dead connection went back to the pool, which dropped it: the pool of one works again
      expect(await within(5_000, t.em.fork().count(Book), 'a query after the fault')).toBe(db.dataset.books.length)
      const ids: string[] = []
      await within(
        10_000,
        (async () => {
          for await (const books of t.em.aiterator(Book, { strategy: 'cursor', chunkSize: 50, batchYieldSize: 50 }))
            ids.push(...books.map(pkOf))
        })(),
        'the next cursor run',
      )
      expect(ids).toHaveLength(db.dataset.books.length)
      expect(new Set(ids).size).toBe(ids.length)
      expect(await idleInTransaction(db.url, db.name)).toBe(0)
      expect((await listSessions(db.url)).filter((s) => s.inTransaction)).toEqual([])
    })
  }
})

describe('inside em.transactional, the session is killed mid-run', () => {
  for (const strategy of ['keyset', 'cursor'] as const) {
    it(`${strategy}: the loop and the transaction reject with a DriverException instead of hanging`, async () => {
      const t = openOrm('postgres', db.url, { pool: { min: 0, max: 2 } })
      try {
        const outcome = await within(
          10_000,
          t.em.transactional(async (em) => {
            let batches = 0
            for await (const _ of em.aiterator(Book, { strategy, chunkSize: 20, batchYieldSize: 20, prefetch: 0 })) {
              if (++batches === 1) await terminateSessions(db.url)
            }
          }),
          `a ${strategy} run inside a transaction across a killed session`,
        ).then(
          () => undefined,
          (e: unknown) => e,
        )
        expect(outcome).toBeInstanceOf(DriverException)
        expect((outcome as Error).message).toMatch(/terminat|connection/i)
        // Known limit (README): MikroORM keeps the transaction's dead connection checked out (Kysely
        // releases it only after a successful ROLLBACK), so the pool's idle count stays one short of
        // its size. No caller waits, and no session is left idle in transaction.
        const pool = await poolState(t.orm)
        expect(pool.waiting).toBe(0)
        expect(pool.total - pool.idle).toBeLessThanOrEqual(1)
        expect(await idleInTransaction(db.url, db.name)).toBe(0)
        // the other pool connection still works
        expect(await within(5_000, t.em.fork().count(Book), 'a query after the fault')).toBe(db.dataset.books.length)
      } finally {
        // MikroORM's transaction keeps its dead connection checked out (Kysely releases it only after a
        // successful ROLLBACK), so orm.close() would wait for it forever; see the README's known limits
        await Promise.race([t.close(), new Promise((resolve) => setTimeout(resolve, 1_000).unref())])
      }
    })
  }
})

describe('server timeouts during a run, pool of one', () => {
  /** Sets a PostgreSQL setting for new sessions of the test database while `work` runs. */
  async function withDatabaseSetting(
    setting: 'statement_timeout' | 'idle_in_transaction_session_timeout',
    value: string,
    work: () => Promise<void>,
  ): Promise<void> {
    const database = quoteIdentifier('postgres', db.name)
    await withConnection(db.url, (c) => c.query(`alter database ${database} set ${setting} = '${value}'`))
    try {
      await work()
    } finally {
      await withConnection(db.url, (c) => c.query(`alter database ${database} reset ${setting}`))
    }
  }

  it('idle_in_transaction_session_timeout hit while the loop body is slow: a ConnectionException, nothing left open, the pool recovers', async () => {
    await withDatabaseSetting('idle_in_transaction_session_timeout', '300ms', async () => {
      const t = openOrm('postgres', db.url, { pool: { min: 0, max: 1 } })
      try {
        let batches = 0
        const run = (async () => {
          for await (const _ of t.em.aiterator(Book, {
            strategy: 'cursor',
            chunkSize: 20,
            batchYieldSize: 20,
            prefetch: 0,
          })) {
            if (++batches === 1) await new Promise((resolve) => setTimeout(resolve, 1_000))
          }
        })()
        const error = await within(10_000, run, 'a cursor run across an idle-in-transaction timeout').then(
          () => undefined,
          (e: unknown) => e,
        )
        expect(error).toBeInstanceOf(ConnectionException)
        expect(((error as Error).cause as Error).message).toMatch(/idle-in-transaction timeout|terminat|not queryable/i)
        expect(batches).toBe(1)
        expect(await within(5_000, t.em.fork().count(Book), 'a query after the fault')).toBe(db.dataset.books.length)
        expect((await listSessions(db.url)).filter((s) => s.inTransaction)).toEqual([])
        await expectSettled(t.orm, db.url, db.name)
      } finally {
        await t.close()
      }
    })
  })

  for (const strategy of ['cursor', 'keyset'] as const) {
    it(`${strategy}: statement_timeout hit by a chunk's statement: a DriverException naming the timeout (not retried), no transaction left open, the pool usable`, async () => {
      await withDatabaseSetting('statement_timeout', '200ms', async () => {
        const t = openOrm('postgres', db.url, { pool: { min: 0, max: 1 } })
        try {
          // every row costs 50 ms to read, so reading a chunk of 20 outlasts the timeout
          const slow = { [raw('pg_sleep(0.05) is not null')]: true }
          const run = (async () => {
            for await (const _ of t.em.aiterator(Book, { where: slow, strategy, chunkSize: 20, batchYieldSize: 20 }));
          })()
          const error = await within(10_000, run, `a ${strategy} run across a statement timeout`).then(
            () => undefined,
            (e: unknown) => e,
          )
          expect(error).toBeInstanceOf(DriverException)
          expect((error as Error).message).toMatch(/canceling statement due to statement timeout/)
          if (strategy === 'keyset') expect(t.queries.filter((sql) => sql.includes('pg_sleep'))).toHaveLength(1)
          expect(await within(5_000, t.em.fork().count(Book), 'a query after the fault')).toBe(db.dataset.books.length)
          expect((await listSessions(db.url)).filter((s) => s.inTransaction)).toEqual([])
          await expectSettled(t.orm, db.url, db.name)
        } finally {
          await t.close()
        }
      })
    })
  }
})

describe("keyset: pg's query_timeout shorter than a chunk query, pool of one", () => {
  it(
    'the loop throws a DriverException "Query read timeout" (not retried); once the query has ended on the server the pool serves the next query',
    { timeout: 20_000 },
    async () => {
      const t = openOrm('postgres', db.url, {
        pool: { min: 0, max: 1 },
        driverOptions: pgClientOptions({ query_timeout: 300 }),
      })
      try {
        // 50 ms per row: a chunk of 20 takes about a second
        const slow = { [raw('pg_sleep(0.05) is not null')]: true }
        const error = await within(
          10_000,
          (async () => {
            for await (const _ of t.em.aiterator(Book, {
              where: slow,
              strategy: 'keyset',
              chunkSize: 20,
              batchYieldSize: 20,
              prefetch: 0,
            }));
          })(),
          'a keyset run across a query timeout',
        ).then(
          () => undefined,
          (e: unknown) => e,
        )
        expect(error).toBeInstanceOf(DriverException)
        expect((error as Error).message).toMatch(/Query read timeout/)
        expect(t.queries.filter((sql) => sql.includes('pg_sleep'))).toHaveLength(1)
        // the driver gave up waiting, not the server: the query runs on, and its connection (the pool's
        // only one) takes the next query once it has ended
        const active = async () => (await listSessions(db.url)).some((s) => s.state === 'active')
        await expect.poll(active, { timeout: 5_000 }).toBe(false)
        expect(await within(5_000, t.em.fork().count(Book), 'a query after the fault')).toBe(db.dataset.books.length)
        expect(await idleInTransaction(db.url, db.name)).toBe(0)
        await expectSettled(t.orm, db.url, db.name)
      } finally {
        await t.close()
      }
    },
  )
})
