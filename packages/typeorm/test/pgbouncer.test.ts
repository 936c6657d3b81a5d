import 'reflect-metadata'
import { openQueryGate, type PgBouncer, startPgBouncer, withConnection } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { DataSource } from 'typeorm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { aiterator } from '../src/index.js'
import { QueryCounter } from './support/data-source.js'
import { Book, entities } from './support/entities.js'
import { expectCleanPool } from './support/pool.js'

// An abort while a chunk's statement runs, through a PgBouncer the test starts: the statement is
// cancelled on the server by PostgreSQL's cancel request, which goes to PgBouncer with the key
// PgBouncer gave the client, and PgBouncer passes it on to the server connection the statement
// runs on. Nothing new is sent after the abort.

const db = useTestDatabase('postgres', { seed: true })

/** The server's view of one backend: its state, or undefined once it is gone. */
const backendState = (pid: number) =>
  withConnection(
    db.url,
    async (c) =>
      (await c.query<{ state: string }>('SELECT state FROM pg_stat_activity WHERE pid = $1', [pid]))[0]?.state,
  )

describe.each(['transaction', 'session'] as const)('through PgBouncer, %s pooling', (poolMode) => {
  let bouncer: PgBouncer
  let ds: DataSource
  const logger = new QueryCounter()
  beforeAll(async () => {
    bouncer = await startPgBouncer(db.url, { poolMode })
    ds = await new DataSource({
      type: 'postgres',
      url: bouncer.url,
      entities,
      synchronize: false,
      poolSize: 2,
      logger,
      logging: true,
    }).initialize()
  })
  afterAll(async () => {
    await ds?.destroy()
    await bouncer?.close()
  })

  for (const strategy of ['keyset', 'cursor'] as const) {
    for (const prefetch of [0, 1]) {
      it(
        `${strategy}, prefetch ${prefetch}: abort while a chunk's statement runs: the loop throws the reason, the statement is cancelled on the server (its backend lives on, idle), nothing new is sent`,
        { timeout: 30_000 },
        async () => {
          await using gate = await openQueryGate(db.url)
          const controller = new AbortController()
          const reason = new Error('stop')
          const query = ds.getRepository(Book).createQueryBuilder('b').where(gate.condition).orderBy('b.id')
          let waiting: number[] = []
          let armed = false
          let sentAtThrow = 0
          const error = await (async () => {
            try {
              for await (const _ of aiterator(query, {
                batchYieldSize: 10,
                chunkSize: 10,
                prefetch,
                strategy,
                signal: controller.signal,
              })) {
                // armed once, synchronously: a batch read ahead can reach this body again before the timer below
                // has run, and a second timer would query the gate after the test closed it
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
              sentAtThrow = logger.queries.length
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
          await expectCleanPool(ds, db.url, db.name)
          const after = logger.queries.slice(sentAtThrow).filter((sql) => sql !== 'SELECT 1 AS one')
          expect(after).toEqual(strategy === 'cursor' ? ['ROLLBACK'] : [])
        },
      )
    }
  }
})
