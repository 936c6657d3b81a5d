/**
 * An abort while a chunk's statement runs, on PostgreSQL directly and through a PgBouncer the test
 * starts: the statement is cancelled on the server by PostgreSQL's cancel request for the client
 * it runs on, which through PgBouncer goes to PgBouncer with the key PgBouncer gave the client, and
 * PgBouncer passes it on to the server connection the statement runs on. Nothing new is sent after
 * the abort. Keyset chunks here are plain reads on MikroORM's pg pool (pg's callback API); the
 * cursor's FETCH runs on the connection it holds. The same on the public paths
 * (`BATCHYIELD_MIKRO_PATHS=public`: `fork.find()` per chunk, pg's promise API), for a keyset read of
 * exact sort key values, and for a statement that outlasts `chunkTimeoutMs`.
 */
import { ChunkTimeoutError } from '@batchyield/batch-core'
import {
  connect,
  openQueryGate,
  type PgBouncer,
  type QueryGate,
  startPgBouncer,
  withConnection,
} from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { raw } from '@mikro-orm/core'
import type { SqlEntityManager } from '@mikro-orm/sql'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import '../src/index.js'
import { pathsOf } from '../src/internals.js'
import { Book } from './entities.js'
import { usePaths } from './paths.js'
import { expectSettled, openOrm, type TestOrm } from './support.js'

const db = useTestDatabase('postgres', { seed: true })

/** The server's view of one backend: its state, or undefined once it is gone. */
const backendState = (pid: number) =>
  withConnection(
    db.url,
    async (c) =>
      (await c.query<{ state: string }>('select state from pg_stat_activity where pid = $1', [pid]))[0]?.state,
  )

/** The exact key values' read (`__exact` columns) waiting for a table lock: its backend pid, once there. */
async function exactReadWaitingForLock(timeoutMs: number): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const [row] = await withConnection(db.url, (c) =>
      c.query<{ pid: number }>(
        `select pid from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query like '%__exact0%'`,
      ),
    )
    if (row !== undefined || Date.now() >= deadline) return row?.pid
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** Whether a session waits for an ACCESS EXCLUSIVE lock on books (the lock queued behind a running read). */
const exclusiveLockQueued = () =>
  withConnection(
    db.url,
    async (c) =>
      (
        await c.query<{ n: number }>(
          `select count(*)::int as n from pg_locks where relation = 'books'::regclass and mode = 'AccessExclusiveLock' and not granted`,
        )
      )[0]!.n > 0,
  )

/**
 * Runs `iterable` until it throws: after the first batch the gate shuts, the next chunk's statement
 * goes out and waits at it, and `whileShut` (not awaited by the loop body) aborts the run. Returns the
 * loop's error and how many statements had been sent when it threw.
 */
async function abortWhileShut(
  t: TestOrm,
  gate: QueryGate,
  iterable: AsyncIterable<unknown>,
  whileShut: () => Promise<void>,
): Promise<{ error: unknown; sentAtThrow: number }> {
  let armed = false
  let sentAtThrow = 0
  const error = await (async () => {
    try {
      for await (const _ of iterable) {
        // once: a second timer would still ask the gate after the run, once it is closed
        if (armed) continue
        armed = true
        await gate.shut()
        // not awaited: with prefetch 0 the next chunk's statement goes out once this body returns
        setTimeout(() => void whileShut(), 0)
      }
    } finally {
      sentAtThrow = t.queries.length
    }
  })().then(
    () => undefined,
    (e: unknown) => e,
  )
  return { error, sentAtThrow }
}

describe.each([
  ['direct', 'fast'],
  ['transaction', 'fast'],
  ['session', 'fast'],
  ['direct', 'public'],
  ['transaction', 'public'],
  ['session', 'public'],
] as const)('PostgreSQL %s (direct, or PgBouncer pooling mode), %s paths', (target, paths) => {
  let bouncer: PgBouncer | undefined
  let t: TestOrm
  usePaths(paths)
  beforeAll(async () => {
    if (target !== 'direct') bouncer = await startPgBouncer(db.url, { poolMode: target })
    t = openOrm('postgres', bouncer?.url ?? db.url)
  })
  afterAll(async () => {
    await t?.close()
    await bouncer?.close()
  })

  it(`takes the ${paths} paths`, () => {
    const taken = paths === 'fast' ? 'fast' : 'public'
    expect(pathsOf(t.em)).toEqual({ find: taken, creator: taken, pgCallback: taken })
  })

  const cases = [
    { strategy: 'keyset', prefetch: 0 },
    { strategy: 'keyset', prefetch: 1 },
    // MikroORM's own 'cancel query' is pg_cancel_backend of PgBouncer's key: the adapter sends the cancel request instead
    { strategy: 'keyset', prefetch: 0, inflightQueryAbortStrategy: 'cancel query' },
    // not a plain read: each chunk is em.find, its queries on the same context as the plain reads
    { strategy: 'keyset', prefetch: 0, populate: ['author'] },
    { strategy: 'cursor', prefetch: 0 },
    { strategy: 'cursor', prefetch: 1 },
    // qb.aiterator: the query builder's own query per chunk
    { strategy: 'keyset', prefetch: 0, queryBuilder: true },
    { strategy: 'cursor', prefetch: 0, queryBuilder: true },
  ] as const
  for (const { strategy, prefetch, ...options } of cases) {
    const how = Object.entries(options)
      .map(([name, value]) => `, ${name} ${JSON.stringify(value)}`)
      .join('')
    const { queryBuilder, ...findOptions } = { queryBuilder: false, ...options }
    const iterate = (where: object, signal: AbortSignal): AsyncIterable<unknown> => {
      const common = { strategy, prefetch, chunkSize: 10, batchYieldSize: 10, signal }
      if (!queryBuilder) return t.em.aiterator(Book, { where, ...common, ...(findOptions as object) })
      return (t.em as SqlEntityManager).createQueryBuilder(Book, 'b').select('*').where(where).aiterator(common)
    }
    it(
      `${strategy}, prefetch ${prefetch}${how}: abort while a chunk's statement runs: the loop throws the reason, the statement is cancelled on the server (its backend lives on, idle), nothing new is sent`,
      { timeout: 30_000 },
      async () => {
        await using gate = await openQueryGate(db.url)
        const controller = new AbortController()
        const reason = new Error('stop')
        const where = { [raw(gate.condition)]: true }
        let waiting: number[] = []
        const { error, sentAtThrow } = await abortWhileShut(t, gate, iterate(where, controller.signal), async () => {
          waiting = await gate.waiting(5000) // the next chunk's statement, stuck at the shut gate
          controller.abort(reason)
        })
        expect(error).toBe(reason)
        expect(waiting).toHaveLength(1)
        const [pid] = waiting as [number]
        // the gate is still shut: only a cancel ends that statement, and the backend stays (a closed connection would end it)
        await expect.poll(() => backendState(pid), { timeout: 5_000 }).toBe('idle')
        expect(await gate.waiting(0)).toEqual([])
        await gate.open()
        await expectSettled(t.orm, db.url, db.name)
        const after = t.queries.slice(sentAtThrow)
        expect(after.filter((sql) => /^(select|fetch|declare)/i.test(sql))).toEqual([])
      },
    )
  }

  for (const queryBuilder of [false, true]) {
    const api = queryBuilder ? 'qb.aiterator' : 'em.aiterator'
    const keyset = (where: object, options: { orderBy?: object } & Record<string, unknown>): AsyncIterable<unknown> => {
      if (!queryBuilder) return t.em.aiterator(Book, { where, strategy: 'keyset', ...options })
      const { orderBy = {}, ...rest } = options
      const qb = (t.em as SqlEntityManager).createQueryBuilder(Book, 'b').select('*').where(where).orderBy(orderBy)
      return qb.aiterator({ strategy: 'keyset', ...rest } as never)
    }
    it(
      `${api} keyset: abort while a chunk's exact sort key values are read (a timestamptz key): the loop throws the reason, that read is cancelled on the server, nothing new is sent`,
      { timeout: 30_000 },
      async () => {
        await using gate = await openQueryGate(db.url)
        // ACCESS EXCLUSIVE on books, queued behind the chunk's SELECT, holds up the exact read that follows it
        await using locker = await connect(db.url)
        const controller = new AbortController()
        const reason = new Error('stop')
        let exactReadPid: number | undefined
        let locked: Promise<unknown> | undefined
        const rows = keyset(
          { [raw(gate.condition)]: true },
          {
            orderBy: { publishedAt: 'asc' },
            prefetch: 0,
            chunkSize: 10,
            batchYieldSize: 10,
            signal: controller.signal,
          },
        )
        const { error, sentAtThrow } = await abortWhileShut(t, gate, rows, async () => {
          await gate.waiting(5000) // the next chunk's SELECT, at the shut gate
          await locker.query('begin')
          locked = locker.query('lock table books in access exclusive mode')
          await expect.poll(exclusiveLockQueued, { timeout: 5_000 }).toBe(true)
          await gate.open() // the SELECT ends, the lock is granted, the exact read waits for it
          exactReadPid = await exactReadWaitingForLock(5000)
          controller.abort(reason)
        })
        expect(error).toBe(reason)
        expect(exactReadPid).toBeTypeOf('number')
        // the lock is still held: only a cancel ends that read, and the backend stays
        await expect.poll(() => backendState(exactReadPid!), { timeout: 5_000 }).toBe('idle')
        await locked
        await locker.query('rollback')
        await expectSettled(t.orm, db.url, db.name)
        expect(t.queries.slice(sentAtThrow).filter((sql) => /^select/i.test(sql))).toEqual([])
      },
    )

    it(
      `${api} keyset: a statement past chunkTimeoutMs is cancelled on the server (retries: 0: the loop throws the ChunkTimeoutError)`,
      { timeout: 30_000 },
      async () => {
        await using gate = await openQueryGate(db.url)
        let waiting: Promise<number[]> | undefined
        const error = await (async () => {
          for await (const _ of keyset(
            { [raw(gate.condition)]: true },
            { prefetch: 0, chunkSize: 10, batchYieldSize: 10, chunkTimeoutMs: 500, retries: 0 },
          )) {
            if (waiting !== undefined) continue
            await gate.shut()
            waiting = gate.waiting(5000) // the next chunk's SELECT, at the shut gate
          }
        })().then(
          () => undefined,
          (e: unknown) => e,
        )
        expect(error).toBeInstanceOf(ChunkTimeoutError)
        const [pid] = (await waiting!) as [number]
        expect(pid).toBeTypeOf('number')
        await expect.poll(() => backendState(pid), { timeout: 5_000 }).toBe('idle')
        expect(await gate.waiting(0)).toEqual([])
        await gate.open()
        await expectSettled(t.orm, db.url, db.name)
      },
    )
  }
})
