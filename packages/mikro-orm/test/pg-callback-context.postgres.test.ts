/**
 * Keyset chunk queries of a plain read, outside a transaction, run on MikroORM's own pg pool
 * through pg's callback API (`pgCallbackContext`), and so do the statements of the cursor
 * strategy's own transaction (one held client): MikroORM still builds, logs and maps them.
 * These tests check that the callback API is what runs them, that MikroORM's logging, errors,
 * aborts and pool see what they saw before, and that every configuration where acquiring a
 * connection does more than take a pool client keeps MikroORM's own execution.
 */
import { seedEvents } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { DefaultLogger, type MikroORM } from '@mikro-orm/core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import '../src/index.js'
import { pgCallbackContext } from '../src/pg-callback-context.js'
import { entities, Event, EventSchema } from './entities.js'
import { collectBatches, describeEntity, expectSettled, openOrm, poolState, type TestOrm } from './support.js'
import { WHOLE_CHUNKS } from './whole-chunks.js'

const db = useTestDatabase('postgres', { seed: true })
const eventEntities = [...entities, EventSchema]
let t: TestOrm | undefined
const logs: string[] = []

beforeAll(async () => {
  await seedEvents(db.url, 700)
})
afterEach(async () => {
  await t?.close()
  t = undefined
  logs.length = 0
})

/** Records, per pool client, whether each `client.query(...)` call passed a callback (pass-through). */
async function watchQueryCalls(orm: MikroORM): Promise<{ sql: string; callback: boolean }[]> {
  const calls: { sql: string; callback: boolean }[] = []
  const pool = await (
    orm.em.getConnection() as unknown as {
      getNativeClient(): Promise<{
        on(event: 'acquire', listener: (client: { query: (...args: unknown[]) => unknown }) => void): void
      }>
    }
  ).getNativeClient()
  const watched = new WeakSet<object>()
  pool.on('acquire', (client) => {
    if (watched.has(client)) return
    watched.add(client)
    const query = client.query.bind(client)
    client.query = (...args: unknown[]) => {
      if (typeof args[0] === 'string') calls.push({ sql: args[0], callback: typeof args[2] === 'function' })
      return query(...args)
    }
  })
  return calls
}

/**
 * Opens an ORM that logs every query into `logs`, runs the strategy over every event (chunks of 300,
 * batches of 100, prefetch 1), checks the entities against em.find's, and returns the pg calls made.
 */
async function iterateLogged(strategy: 'keyset' | 'cursor'): Promise<{ sql: string; callback: boolean }[]> {
  t = openOrm('postgres', db.url, {
    entities: eventEntities,
    debug: ['query'],
    loggerFactory: (options) => new DefaultLogger({ ...options, writer: (message) => logs.push(message) }),
  })
  const calls = await watchQueryCalls(t.orm)
  const expected = await t.em.fork({ clear: true }).find(Event, {}, { orderBy: { id: 'asc' } })
  calls.length = 0
  logs.length = 0
  const actual = (
    await collectBatches(
      t.em.aiterator(Event, { strategy, chunkSize: 300, batchYieldSize: 100, prefetch: 1, ...WHOLE_CHUNKS }),
    )
  ).flat()
  expect(actual.map(describeEntity)).toEqual(expected.map(describeEntity))
  return calls
}

/**
 * Opens an ORM with an onReserveConnection hook, runs the strategy over every event (chunks and
 * batches of 300), and returns the pg calls made and how often the hook ran.
 */
async function iterateWithReserveHook(
  strategy: 'keyset' | 'cursor',
): Promise<{ calls: { sql: string; callback: boolean }[]; reserved: number }> {
  let reserved = 0
  t = openOrm('postgres', db.url, { entities: eventEntities, onReserveConnection: async () => void reserved++ })
  const calls = await watchQueryCalls(t.orm)
  const events = (
    await collectBatches(t.em.aiterator(Event, { strategy, chunkSize: 300, batchYieldSize: 300, ...WHOLE_CHUNKS }))
  ).flat()
  expect(events).toHaveLength(700)
  return { calls, reserved }
}

const chunkSelects = (calls: readonly { sql: string; callback: boolean }[]) =>
  calls.filter((call) => /^select .* from "events"/i.test(call.sql))

describe('keyset chunk queries through pg’s callback API', () => {
  it('outside a transaction: every chunk SELECT passes a callback, MikroORM logs each with its row count, the entities are em.find’s', async () => {
    const calls = await iterateLogged('keyset')
    // the engine's first chunk is one batch (100), then 300, 300 and the last 0
    expect(chunkSelects(calls).map((call) => call.callback)).toEqual([true, true, true, true])
    const logged = logs.filter((line) => /select .* from "events"/i.test(line))
    expect(logged.map((line) => /(\d+) results?\]/.exec(line)?.[1])).toEqual(['100', '300', '300', '0'])
    await expectSettled(t!.orm, db.url, db.name)
  })

  it('inside em.transactional the chunk SELECTs run on the transaction’s connection, through MikroORM', async () => {
    t = openOrm('postgres', db.url, { entities: eventEntities })
    const orm = t
    const calls = await watchQueryCalls(orm.orm)
    const count = await orm.em.fork().transactional(async (em) => {
      calls.length = 0
      return (
        await collectBatches(em.aiterator(Event, { strategy: 'keyset', chunkSize: 300, batchYieldSize: 300 }))
      ).flat().length
    })
    expect(count).toBe(700)
    expect(chunkSelects(calls).length).toBeGreaterThan(0)
    expect(chunkSelects(calls).every((call) => !call.callback)).toBe(true)
  })

  it('with onReserveConnection configured, each chunk query takes its connection through MikroORM (the hook runs for it)', async () => {
    const { calls, reserved } = await iterateWithReserveHook('keyset')
    expect(chunkSelects(calls)).toHaveLength(3) // 300, 300, 100
    expect(chunkSelects(calls).every((call) => !call.callback)).toBe(true)
    expect(reserved).toBeGreaterThanOrEqual(3)
  })
})

describe('the cursor strategy’s own transaction through pg’s callback API', () => {
  const cursorStatements = (calls: readonly { sql: string; callback: boolean }[]) =>
    calls.filter((call) => /^(begin transaction|declare|fetch|commit)/i.test(call.sql))

  it('outside a transaction: BEGIN, DECLARE, every FETCH and COMMIT pass a callback, MikroORM logs them, the entities are em.find’s', async () => {
    const calls = await iterateLogged('cursor')
    const statements = cursorStatements(calls)
    expect(statements.map((call) => call.sql.split(' ')[0]!.toLowerCase())).toEqual([
      'begin',
      'declare',
      'fetch',
      'fetch',
      'fetch',
      'fetch',
      'fetch',
      'commit',
    ])
    expect(statements.every((call) => call.callback)).toBe(true)
    // the first batch (100) and its read-ahead, sent with the engine's latest request size (100); the
    // second chunk's missing 200; then reads ahead of 300 until one comes back short
    expect(
      logs.filter((line) => /fetch forward/i.test(line)).map((line) => /(\d+) results?\]/.exec(line)?.[1]),
    ).toEqual(['100', '100', '200', '300', '0'])
    await expectSettled(t!.orm, db.url, db.name)
  })

  it('with onReserveConnection configured, the cursor holds its connection through MikroORM (the hook runs for it)', async () => {
    const { calls, reserved } = await iterateWithReserveHook('cursor')
    expect(cursorStatements(calls).length).toBeGreaterThanOrEqual(5)
    expect(cursorStatements(calls).every((call) => !call.callback)).toBe(true)
    expect(reserved).toBeGreaterThanOrEqual(1)
    await expectSettled(t!.orm, db.url, db.name)
  })
})

describe('pgCallbackContext', () => {
  it('runs a statement and returns the client to the pool; a failing statement rejects with the driver’s error and returns it too', async () => {
    t = openOrm('postgres', db.url, { entities: eventEntities })
    const ctx = (await pgCallbackContext(t.em))!
    expect(ctx).toBeDefined()
    expect(await ctx.executeQuery({ sql: 'select $1::int + 1 as n', parameters: [41] })).toEqual({ rows: [{ n: 42 }] })
    await expect(ctx.executeQuery({ sql: 'select * from no_such_table', parameters: [] })).rejects.toMatchObject({
      code: '42P01',
    })
    const pool = await poolState(t.orm)
    expect(pool.idle).toBe(pool.total)
  })

  it('on abort rejects with the reason at once; the statement ends on its client, which then goes back to the pool', async () => {
    t = openOrm('postgres', db.url, { entities: eventEntities })
    const ctx = (await pgCallbackContext(t.em))!
    const controller = new AbortController()
    const started = Date.now()
    const sleeping = ctx.executeQuery({ sql: 'select pg_sleep(0.6)', parameters: [] }, { signal: controller.signal })
    setTimeout(() => controller.abort(new Error('left the loop')), 50)
    await expect(sleeping).rejects.toThrow('left the loop')
    expect(Date.now() - started).toBeLessThan(550)
    expect((await poolState(t.orm)).idle).toBe((await poolState(t.orm)).total - 1) // still running pg_sleep
    await expectSettled(t.orm, db.url, db.name)
    await expect(
      ctx.executeQuery({ sql: 'select 1 as one', parameters: [] }, { signal: controller.signal }),
    ).rejects.toThrow('left the loop')
  })

  it("with inflightQueryAbortStrategy 'cancel query' the statement runs through MikroORM's Kysely, which cancels it on abort", async () => {
    t = openOrm('postgres', db.url, { entities: eventEntities })
    const ctx = (await pgCallbackContext(t.em))!
    const controller = new AbortController()
    // through MikroORM's connection.execute, as the driver calls it (Kysely cancels by the compiled query's id)
    const connection = t.em.getConnection() as unknown as {
      execute(sql: string, params: unknown[], method: 'all', ctx: unknown, loggerContext: object): Promise<unknown>
    }
    const sleeping = connection.execute('select pg_sleep(30)', [], 'all', ctx, {
      signal: controller.signal,
      inflightQueryAbortStrategy: 'cancel query',
    })
    setTimeout(() => controller.abort(new Error('left the loop')), 200)
    await expect(sleeping).rejects.toThrow('left the loop')
    // cancelled, not left to run its 30 s: the client is back in the pool within seconds
    await expectSettled(t.orm, db.url, db.name, 5_000)
  })

  it.each([
    ['onCreateConnection', () => ({ onCreateConnection: () => {} })],
    ['onReserveConnection', () => ({ onReserveConnection: () => {} })],
    ["sessionContext: 'connection'", () => ({ sessionContext: 'connection' })],
    ['read replicas', () => ({ replicas: [{ name: 'replica', clientUrl: db.url }] })],
  ])('is not used with %s (MikroORM acquires connections itself)', async (_, options) => {
    t = openOrm('postgres', db.url, { entities: eventEntities, ...options() } as never)
    expect(await pgCallbackContext(t.em)).toBeUndefined()
  })
})

afterAll(async () => {
  await t?.close()
})
