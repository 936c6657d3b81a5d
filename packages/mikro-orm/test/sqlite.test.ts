import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRandom } from '@batchyield/test-fixtures'
import { boundedRun, comparable, sequenceDiagnosis } from '@batchyield/test-fixtures/conformance'
import { defineEntity, type MikroORM, p, raw, Utils } from '@mikro-orm/core'
import type { SqlEntityManager } from '@mikro-orm/sql'
import { SqliteDriver } from '@mikro-orm/sqlite'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { KeysetOrderingError, partitions, StrategyUnavailableError } from '../src/index.js'
import { createOrm, createSchema } from './create-orm.js'
import { classOf } from './entities.js'

// SQLite through @mikro-orm/sqlite (better-sqlite3), a database file in a temporary directory:
// keyset (and auto) ordered by each property type MikroORM maps on SQLite yields exactly em.find's
// sequence, NULLs and near-duplicates included, for chunk sizes 1, 2, 3 and 7 and random batch sizes;
// the cursor is refused (SQLite has no server-side cursors). Key values are bound as the driver
// returns them (batch-core's SQLite rule); Dates are read back as stored.

const SqliteRowSchema = defineEntity({
  name: 'SqliteRow',
  tableName: 'key_matrix',
  properties: {
    id: p.integer().primary(),
    integerV: p.integer().nullable(),
    bigintV: p.bigint('number').nullable(),
    floatV: p.float().nullable(),
    doubleV: p.double().nullable(),
    decimalText: p.decimal('string').precision(12).scale(4).nullable(),
    decimalNumber: p.decimal('number').precision(12).scale(4).nullable(),
    booleanV: p.boolean().nullable(),
    textV: p.text().nullable(),
    varcharV: p.string().length(40).nullable(),
    blobV: p.blob().nullable(),
    dateV: p.date().nullable(),
    datetimeV: p.datetime().nullable(),
    timeV: p.time().nullable(),
    uuidV: p.uuid().nullable(),
    enumV: p.enum(['zeta', 'alpha', 'mid']).nullable(),
    jsonV: p.json<unknown>().nullable(),
    arrayV: p.array().nullable(),
  },
})
class SqliteRow extends classOf(SqliteRowSchema) {}
SqliteRowSchema.setClass(SqliteRow)

/** Each property's values: neighbours that differ in the last place, ties, both ends. */
const pools: Record<string, readonly unknown[]> = {
  integerV: [0, -1, 1, 2_147_483_647, -2_147_483_648, 7, 7],
  bigintV: [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER - 1, -Number.MAX_SAFE_INTEGER, 0, 4_294_967_296],
  floatV: [0.1, 0.1 + Number.EPSILON / 8, 0.30000000000000004, 0.3, -0, 1e308, -1e-308],
  doubleV: [1 / 3, 1 / 3 + 2 ** -54, 937.1679094620049, 937.1679094620048, -1.5],
  decimalText: ['12.3456', '12.3457', '-0.0001', '0', '99999.9999'],
  decimalNumber: [12.3456, 12.3457, -0.0001, 0, 99_999.9999],
  booleanV: [true, false],
  textV: ['a', 'A', 'a ', 'á', 'a\u0301', '', '😀', "it's", 'a\tb', 'b', '-- ', '/*', '?'],
  varcharV: ['x', 'x ', 'X', 'xx', '%', '_'],
  blobV: [
    Buffer.from([]),
    Buffer.from([0]),
    Buffer.from([0, 0]),
    Buffer.from([255]),
    Buffer.from([1, 2]),
    Buffer.from([1, 2, 0]),
  ],
  dateV: ['2024-02-29', '0001-01-01', '9999-12-31', '2024-03-01'],
  datetimeV: [
    new Date('2024-01-01T00:00:00.000Z'),
    new Date('2024-01-01T00:00:00.001Z'),
    new Date('1970-01-01T00:00:00.000Z'),
    new Date('2099-12-31T23:59:59.999Z'),
  ],
  timeV: ['00:00:00', '23:59:59', '12:00:00.5', '12:00:00'],
  uuidV: [
    '00000000-0000-4000-8000-000000000000',
    '00000000-0000-4000-8000-000000000001',
    'ffffffff-ffff-4fff-bfff-ffffffffffff',
  ],
  enumV: ['zeta', 'alpha', 'mid'],
  jsonV: [{ a: 1 }, { a: 1, b: 2 }, [1, 2], 'text', 0, { b: 1 }],
  arrayV: [['a'], ['a', 'b'], ['b'], ['a', '']],
}
const properties = Object.keys(pools)

/**
 * MikroORM before 6.6 reads a time with fractional seconds but its TimeType refuses to write one (em.flush)
 * and to map one from a query builder's rows (`qb.getResultList()`).
 */
const refusesTimeFractions = (() => {
  const [major = 0, minor = 0] = Utils.getORMVersion().split('.').map(Number)
  return major < 6 || (major === 6 && minor < 6)
})()
const ROWS = 48
const chunkSizes = [1, 2, 3, 7] as const

describe('SQLite (@mikro-orm/sqlite)', () => {
  let directory: string
  let orm: MikroORM
  let queries: string[]
  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'batchyield-mikro-sqlite-'))
    queries = []
    orm = createOrm({
      driver: SqliteDriver,
      dbName: join(directory, 'test.sqlite'),
      entities: [SqliteRow],
      allowGlobalContext: true,
      onQuery: (sql: string) => {
        queries.push(sql)
        return sql
      },
    })
    await createSchema(orm)
    const random = createRandom(17)
    const em = orm.em.fork()
    // where MikroORM refuses to write a time with fractional seconds, SQL writes it: every line holds the same rows
    const timesBySql: [id: number, time: string][] = []
    for (let id = 1; id <= ROWS; id++) {
      const values: Record<string, unknown> = { id }
      for (const property of properties) values[property] = random.chance(0.2) ? null : random.pick(pools[property]!)
      if (refusesTimeFractions && typeof values.timeV === 'string' && values.timeV.includes('.')) {
        timesBySql.push([id, values.timeV])
        values.timeV = null
      }
      em.create(SqliteRow, values as never)
    }
    await em.flush()
    for (const [id, time] of timesBySql)
      await (em as SqlEntityManager).execute('update key_matrix set time_v = ? where id = ?', [time, id])
  })
  afterAll(async () => {
    await orm?.close(true)
    if (directory) rmSync(directory, { recursive: true, force: true })
  })

  const em = (): SqlEntityManager => orm.em.fork() as SqlEntityManager
  const plain = (row: object) =>
    comparable(
      Object.fromEntries(
        orm.getMetadata(SqliteRow).props.map((prop) => [prop.name, (row as Record<string, unknown>)[prop.name]]),
      ),
    )
  const idOf = (row: SqliteRow) => row.id

  it('the driver is SQLite and every property holds values and NULLs', async () => {
    expect(orm.em.getPlatform().constructor.name).toBe('SqlitePlatform')
    const all = await em().find(SqliteRow, {}, { orderBy: { id: 'asc' } })
    expect(all).toHaveLength(ROWS)
    for (const property of properties) {
      const values = all.map((row) => (row as unknown as Record<string, unknown>)[property])
      expect(
        values.some((value) => value === null),
        `${property} has NULLs`,
      ).toBe(true)
      expect(
        new Set(values.map((value) => JSON.stringify(comparable(value)))).size,
        `${property} has several values`,
      ).toBeGreaterThan(2)
    }
  })

  for (const property of properties) {
    for (const direction of ['asc', 'desc'] as const) {
      it(`ordered by ${property} ${direction}: keyset and auto yield exactly em.find's sequence, chunk sizes ${chunkSizes.join(', ')}`, async () => {
        const expected = await em().find(
          SqliteRow,
          {},
          { orderBy: [{ [property]: direction }, { id: direction }] as never },
        )
        expect(expected).toHaveLength(ROWS)
        const check = async (chunkSize: number, batchYieldSize: number, strategy: 'keyset' | 'auto') => {
          const run = await boundedRun(
            () =>
              em().aiterator(SqliteRow, {
                orderBy: { [property]: direction } as never,
                chunkSize,
                batchYieldSize,
                strategy,
              }),
            ROWS,
          )
          const actual = run.batches.flat()
          expect(
            sequenceDiagnosis(expected.map(idOf), run, actual.map(idOf)),
            `${strategy}, chunkSize ${chunkSize}, batchYieldSize ${batchYieldSize}`,
          ).toBe('')
          expect(actual.map(plain)).toEqual(expected.map(plain))
          run.batches.slice(0, -1).forEach((batch) => expect(batch.length).toBe(batchYieldSize))
        }
        for (const strategy of ['keyset', 'auto'] as const)
          for (const chunkSize of chunkSizes) await check(chunkSize, 4, strategy)
        await fc.assert(
          fc.asyncProperty(
            fc.constantFrom(...chunkSizes),
            fc.integer({ min: 1, max: 12 }),
            fc.constantFrom('keyset' as const, 'auto' as const),
            check,
          ),
          { numRuns: 4, endOnFailure: true },
        )
      })
    }
  }

  it('NULL placement written out, two sort keys: exactly em.find', async () => {
    const orderBy = [{ textV: 'asc nulls last' }, { floatV: 'desc nulls first' }] as never
    // the primary key follows the direction of the last sort key
    const expected = await em().find(SqliteRow, {}, { orderBy: [...(orderBy as object[]), { id: 'desc' }] as never })
    for (const chunkSize of chunkSizes) {
      const run = await boundedRun(() => em().aiterator(SqliteRow, { orderBy, chunkSize, batchYieldSize: 5 }), ROWS)
      expect(sequenceDiagnosis(expected.map(idOf), run, run.batches.flat().map(idOf)), `chunkSize ${chunkSize}`).toBe(
        '',
      )
    }
  })

  it('with a where: exactly em.find of the same filter', async () => {
    const where = { integerV: { $ne: null }, booleanV: true }
    const expected = await em().find(SqliteRow, where, { orderBy: [{ doubleV: 'desc' }, { id: 'desc' }] })
    expect(expected.length).toBeGreaterThan(3)
    const run = await boundedRun(
      () => em().aiterator(SqliteRow, { where, orderBy: { doubleV: 'desc' }, chunkSize: 2, batchYieldSize: 3 }),
      ROWS,
    )
    expect(sequenceDiagnosis(expected.map(idOf), run, run.batches.flat().map(idOf))).toBe('')
  })

  it('resumes after a token: the rest of the sequence', async () => {
    const orderBy = { datetimeV: 'desc' } as const
    const expected = await em().find(SqliteRow, {}, { orderBy: [orderBy, { id: 'desc' }] })
    let token: string | undefined
    const first: SqliteRow[] = []
    for await (const batch of em().aiterator(SqliteRow, {
      orderBy,
      batchYieldSize: 7,
      chunkSize: 3,
      onProgress: (progress) => (token = progress.cursor),
    })) {
      first.push(...batch)
      if (first.length >= 14) break
    }
    expect(token).toBeDefined()
    const rest: SqliteRow[] = []
    for await (const batch of em().aiterator(SqliteRow, { orderBy, batchYieldSize: 7, chunkSize: 3, after: token }))
      rest.push(...batch)
    expect([...first, ...rest].map(idOf)).toEqual(expected.map(idOf))
  })

  it('qb.aiterator: exactly qb.getResultList(), chunk sizes 1, 2, 3 and 7', async () => {
    // before 6.6 getResultList() refuses the rows with a fractional time (see above): both read the others there,
    // and the next test compares the two on those rows
    // (in SQL: the line's TimeType refuses to bind such a time as well)
    const qb = () => {
      const all = em()
        .createQueryBuilder(SqliteRow, 'r')
        .where({ textV: { $ne: null } })
      if (refusesTimeFractions) all.andWhere('(r.time_v is null or r.time_v not like ?)', ['%.%'])
      return all.orderBy({ textV: 'asc', decimalNumber: 'desc' })
    }
    const expected = await qb().orderBy({ textV: 'asc', decimalNumber: 'desc', id: 'desc' }).getResultList()
    expect(expected.length).toBeGreaterThan(ROWS / 2)
    for (const chunkSize of chunkSizes) {
      const run = await boundedRun<SqliteRow>(() => qb().aiterator({ chunkSize, batchYieldSize: 4 }), ROWS)
      expect(sequenceDiagnosis(expected.map(idOf), run, run.batches.flat().map(idOf)), `chunkSize ${chunkSize}`).toBe(
        '',
      )
    }
  })

  it('qb.aiterator on times with fractional seconds does what qb.getResultList() does: the same entities from 6.6, the same error before', async () => {
    const qb = () => em().createQueryBuilder(SqliteRow, 'r').where('r.time_v like ?', ['%.%']).orderBy({ id: 'asc' })
    const settle = async (read: () => Promise<SqliteRow[]>) => {
      try {
        return { rows: await read() }
      } catch (error) {
        return { error: error as Error }
      }
    }
    const expected = await settle(() => qb().getResultList())
    const actual = await settle(async () => {
      const rows: SqliteRow[] = []
      for await (const batch of qb().aiterator({ chunkSize: 2, batchYieldSize: 3 })) rows.push(...batch)
      return rows
    })
    if (refusesTimeFractions) {
      expect(expected.error?.message).toContain("Could not convert JS value '12:00:00.5'")
      expect(actual.error?.constructor).toBe(expected.error?.constructor)
      expect(actual.error?.message).toBe(expected.error?.message)
    } else {
      expect(expected.rows?.length).toBeGreaterThan(0)
      expect(actual.rows?.map(plain)).toEqual(expected.rows?.map(plain))
    }
  })

  it("partitions (method 'scan'): the partitions' runs together yield every row once, each in em.find's order", async () => {
    const orderBy = { floatV: 'asc' } as const
    const expected = await em().find(SqliteRow, {}, { orderBy: [orderBy, { id: 'asc' }] })
    const descriptors = await partitions(em(), SqliteRow, 3, { orderBy })
    expect(descriptors).toHaveLength(3)
    const ids: number[] = []
    for (const partition of descriptors) {
      const run = await boundedRun(
        () => em().aiterator(SqliteRow, { orderBy, partition, chunkSize: 4, batchYieldSize: 5 }),
        ROWS,
      )
      expect(run.threw, String(run.error)).toBe(false)
      ids.push(...run.batches.flat().map(idOf))
    }
    expect(ids).toEqual(expected.map(idOf))
  })

  it("strategy 'cursor' is a StrategyUnavailableError at the call, before any query (em.aiterator and qb.aiterator)", () => {
    const before = queries.length
    const call = () => em().aiterator(SqliteRow, { strategy: 'cursor', batchYieldSize: 10 })
    expect(call).toThrow(StrategyUnavailableError)
    expect(call).toThrow(/strategy 'cursor' needs PostgreSQL.*this EntityManager uses Sqlite.*strategy: 'keyset'/)
    expect(() => em().createQueryBuilder(SqliteRow).aiterator({ strategy: 'cursor' })).toThrow(StrategyUnavailableError)
    expect(queries.length).toBe(before)
  })

  it("strategy 'auto' with an ordering keyset cannot follow: KeysetOrderingError (no cursor fallback on SQLite)", () => {
    const call = () => em().aiterator(SqliteRow, { orderBy: { [raw('lower(text_v)')]: 'asc' } as never })
    expect(call).toThrow(KeysetOrderingError)
    expect(call).toThrow(/'cursor', the fallback, needs PostgreSQL; this EntityManager uses Sqlite/)
  })
})
