/**
 * An abort while a chunk's statement runs, on PostgreSQL directly and through a PgBouncer the test
 * starts: the statement is cancelled on the server by PostgreSQL's cancel request for the client
 * it runs on, which through PgBouncer goes to PgBouncer with the key PgBouncer gave the client, and
 * PgBouncer passes it on to the server connection the statement runs on. Nothing new is sent after
 * the abort. Keyset chunks here are plain reads on MikroORM's pg pool (pg's callback API); the
 * cursor's FETCH runs on the connection it holds.
 */
import { openQueryGate, type PgBouncer, startPgBouncer, withConnection } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { raw } from '@mikro-orm/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import '../src/index.js'
import { Book } from './entities.js'
import { expectSettled, openOrm, type TestOrm } from './support.js'

const db = useTestDatabase('postgres', { seed: true })

/** The server's view of one backend: its state, or undefined once it is gone. */
const backendState = (pid: number) =>
  withConnection(
    db.url,
    async (c) =>
      (await c.query<{ state: string }>('select state from pg_stat_activity where pid = $1', [pid]))[0]?.state,
  )

describe.each(['direct', 'transaction', 'session'] as const)(
  'PostgreSQL %s (direct, or PgBouncer pooling mode)',
  (target) => {
    let bouncer: PgBouncer | undefined
    let t: TestOrm
    beforeAll(async () => {
      if (target !== 'direct') bouncer = await startPgBouncer(db.url, { poolMode: target })
      t = openOrm('postgres', bouncer?.url ?? db.url)
    })
    afterAll(async () => {
      await t?.close()
      await bouncer?.close()
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
    ] as const
    for (const { strategy, prefetch, ...options } of cases) {
      const how = Object.entries(options)
        .map(([name, value]) => `, ${name} ${JSON.stringify(value)}`)
        .join('')
      it(
        `${strategy}, prefetch ${prefetch}${how}: abort while a chunk's statement runs: the loop throws the reason, the statement is cancelled on the server (its backend lives on, idle), nothing new is sent`,
        { timeout: 30_000 },
        async () => {
          await using gate = await openQueryGate(db.url)
          const controller = new AbortController()
          const reason = new Error('stop')
          const where = { [raw(gate.condition)]: true }
          let waiting: number[] = []
          let armed = false
          let sentAtThrow = 0
          const error = await (async () => {
            try {
              for await (const _ of t.em.aiterator(Book, {
                where,
                strategy,
                prefetch,
                chunkSize: 10,
                batchYieldSize: 10,
                signal: controller.signal,
                ...(options as object),
              })) {
                // once: a second timer would still ask the gate after the run, once it is closed
                if (armed) continue
                armed = true
                await gate.shut()
                // not awaited: with prefetch 0 the next chunk's statement goes out once this body returns
                setTimeout(async () => {
                  waiting = await gate.waiting(5000) // the next chunk's statement, stuck at the shut gate
                  controller.abort(reason)
                }, 0)
              }
            } finally {
              sentAtThrow = t.queries.length
            }
          })().then(
            () => undefined,
            (e: unknown) => e,
          )
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
  },
)
