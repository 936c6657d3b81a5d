/**
 * MariaDB: an abort while a keyset chunk's SELECT runs ends it on the server with `KILL QUERY` (sent by
 * MikroORM on a connection of its own, the adapter's default `inflightQueryAbortStrategy` there), not
 * left to finish: the loop throws the abort reason, the connection lives on idle, nothing new is sent.
 * `SLEEP()` per row makes the first chunk's SELECT take seconds.
 */
import { withConnection } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { raw } from '@mikro-orm/core'
import { afterEach, describe, expect, it } from 'vitest'
import '../src/index.js'
import { Book } from './entities.js'
import { openOrm, type TestOrm } from './support.js'

const db = useTestDatabase('mariadb', { seed: true })

let t: TestOrm | undefined
afterEach(async () => {
  await t?.close()
  t = undefined
})

/** The server threads running the sleeping chunk SELECT. */
const sleeping = () =>
  withConnection(db.url, async (c) =>
    (
      await c.query<{ id: number }>(
        "SELECT id FROM information_schema.PROCESSLIST WHERE INFO LIKE '%SLEEP(0.5)%' AND INFO NOT LIKE '%PROCESSLIST%'",
      )
    ).map((row) => Number(row.id)),
  )
/** What one server thread does now: its command and statement, or undefined once it is gone. */
const thread = (id: number) =>
  withConnection(
    db.url,
    async (c) =>
      (
        await c.query<{ command: string; info: string | null }>(
          'SELECT COMMAND AS command, INFO AS info FROM information_schema.PROCESSLIST WHERE ID = ?',
          [id],
        )
      )[0],
  )

describe('MariaDB keyset: a chunk SELECT running when the signal aborts is ended with KILL QUERY', () => {
  const cases = [
    { prefetch: 0, populate: false },
    { prefetch: 1, populate: false },
    // not a plain read: each chunk is em.find with its populate queries
    { prefetch: 0, populate: true },
  ] as const
  for (const { prefetch, populate } of cases) {
    it(
      `prefetch ${prefetch}${populate ? ', populate' : ''}: the loop throws the reason, the statement is gone at once, its connection idle, nothing new sent`,
      { timeout: 20_000 },
      async () => {
        t = openOrm('mariadb', db.url)
        const controller = new AbortController()
        const reason = new Error('stop')
        let running: number[] = []
        const abortWhenRunning = (async () => {
          for (let i = 0; i < 200 && running.length === 0; i++) {
            running = await sleeping()
            if (running.length === 0) await new Promise((resolve) => setTimeout(resolve, 10))
          }
          controller.abort(reason)
        })()
        let sentAtThrow = 0
        const started = Date.now()
        const error = await (async () => {
          try {
            const where = { [raw('SLEEP(0.5)')]: 0 }
            for await (const _ of t!.em.aiterator(Book, {
              where,
              strategy: 'keyset',
              prefetch,
              chunkSize: 10,
              batchYieldSize: 10,
              signal: controller.signal,
              ...(populate ? { populate: ['author'] as never } : {}),
            })) {
              // the first chunk's SELECT alone sleeps 0.5 s per row
            }
          } finally {
            sentAtThrow = t!.queries.length
          }
        })().then(
          () => undefined,
          (e: unknown) => e,
        )
        await abortWhenRunning
        expect(error).toBe(reason)
        expect(running).toHaveLength(1)
        const [id] = running as [number]
        // a statement left to finish would sleep for seconds more; KILL QUERY ends the statement, not the connection
        await expect.poll(() => thread(id), { timeout: 2_000 }).toMatchObject({ command: 'Sleep', info: null })
        expect(Date.now() - started).toBeLessThan(4_000)
        expect(await sleeping()).toEqual([])
        // the pool serves the next query (the killed statement's connection included)
        expect(await t.em.fork().count(Book)).toBeGreaterThan(0)
        expect(t.queries.slice(sentAtThrow, -1).filter((sql) => /^select/i.test(sql))).toEqual([])
      },
    )
  }
})
