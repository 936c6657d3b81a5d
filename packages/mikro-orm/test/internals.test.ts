/**
 * src/internals.ts: which path each part takes on a MikroORM, and what happens when MikroORM's internals
 * are missing or do not behave as the fast paths expect. Every run here is held to em.find's result,
 * entity by entity, and its statements are counted: a degraded run is slower, never different, and
 * never reads without the chunk's bound.
 */
import { seedEvents } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { EntityManager, type EntityName, type Options, RawQueryFragment, raw, Utils } from '@mikro-orm/core'
import type { SqlEntityManager } from '@mikro-orm/sql'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { UnsupportedMikroOrmError } from '../src/index.js'
import { forgetDetectedPaths, objectQueryKeys, pathsOf } from '../src/internals.js'
import { Book, entities, Event, EventSchema } from './entities.js'
import { collectBatches, describeEntity, identityMapSize, openOrm, type TestOrm, withTieBreaker } from './support.js'
import { WHOLE_CHUNKS } from './whole-chunks.js'

/** A statement MikroORM sent, with its parameters (a chunk's LIMIT is one of them). */
interface Statement {
  readonly sql: string
  readonly params: readonly unknown[]
}

const db = useTestDatabase('postgres', { seed: true })
let t: TestOrm
/** Every statement MikroORM sent, in order (the `onQuery` hook). */
const sent: Statement[] = []
beforeAll(async () => {
  await seedEvents(db.url, 300)
  const onQuery = (sql: string, params: readonly unknown[]) => {
    sent.push({ sql, params: [...params] })
    return sql
  }
  t = openOrm('postgres', db.url, { entities: [...entities, EventSchema], onQuery } as Partial<Options>)
})
afterAll(() => t?.close())
afterEach(() => {
  vi.restoreAllMocks()
  vi.unstubAllEnvs()
  forgetDetectedPaths()
})

const CHUNK = 37
const BATCH = 10

/**
 * The rows the engine asks for per request (requests not sized by row width: WHOLE_CHUNKS): the first
 * batch first, then whole chunks, until a chunk comes back short (a full last chunk takes one more, empty, read).
 */
function requestSizes(rows: number): number[] {
  const sizes = [Math.min(BATCH, CHUNK)]
  let asked = sizes[0]!
  while (asked <= rows) {
    sizes.push(CHUNK)
    asked += CHUNK
  }
  return sizes
}

/** The rows of each chunk that has any: {@link requestSizes}, the last one what is left. */
function chunkRows(rows: number): number[] {
  const chunks: number[] = []
  let left = rows
  for (const size of requestSizes(rows)) {
    if (left === 0) break
    chunks.push(Math.min(size, left))
    left -= Math.min(size, left)
  }
  return chunks
}

/** em.find in a fresh fork, in aiterator's order (the primary key appended). */
async function reference(
  entity: EntityName<object>,
  options: { orderBy?: object; populate?: string[] } = {},
): Promise<object[]> {
  const meta = t.em.getMetadata(entity)
  return t.em
    .fork({ clear: true })
    .find(entity, {}, { ...options, orderBy: withTieBreaker(options.orderBy, meta.primaryKeys, meta.orderBy) } as never)
}

/** Runs em.aiterator and returns its entities and the statements it sent. */
async function run(
  entity: EntityName<object>,
  options: Record<string, unknown>,
): Promise<{ entities: object[]; statements: Statement[] }> {
  sent.length = 0
  const batches = await collectBatches(
    t.em.aiterator(entity, {
      chunkSize: CHUNK,
      batchYieldSize: BATCH,
      ...WHOLE_CHUNKS,
      ...options,
    } as never) as AsyncIterable<object[]>,
  )
  return { entities: batches.flat(), statements: [...sent] }
}

/** The statements reading `table`'s rows by the chunk's seek, not by a list of keys (populate's and the exact sort values' reads are bounded by their keys). */
const chunkReads = (statements: readonly Statement[], table: string) =>
  statements.filter(({ sql }) => /^select/i.test(sql) && sql.includes(`from "${table}"`) && !/ in \(/.test(sql))

/** A statement's LIMIT, literal or the parameter it is bound to; undefined without one. */
function limitOf({ sql, params }: Statement): number | undefined {
  const limit = / limit (\?|\d+)(?: offset (\?|\d+))?$/i.exec(sql)
  if (limit === null) return undefined
  if (limit[1] !== '?') return Number(limit[1])
  return Number(params[params.length - (limit[2] === '?' ? 2 : 1)])
}

/** Each keyset chunk is one SELECT with the LIMIT the engine asked for: the first batch, then the chunk size. */
function expectBoundedKeysetReads(reads: readonly Statement[], rows: number): void {
  expect(
    reads.filter((read) => limitOf(read) === undefined).map(({ sql }) => sql),
    'reads without a LIMIT',
  ).toEqual([])
  const limits = reads.map(limitOf)
  for (const limit of limits) expect(limit).toBeLessThanOrEqual(CHUNK)
  expect(limits).toEqual(requestSizes(rows))
}

describe('on the MikroORM it was tested on, the fast paths are taken', () => {
  it('find, creator and pgCallback are fast on the installed MikroORM (7.2), detected once per EntityManager class', async () => {
    forgetDetectedPaths()
    // Detection reads the version (src/internals.ts); other reads of it (the adapter's em.execute form per
    // exact-sort-values read, MikroORM itself) are not detections, so only calls from the detection are counted.
    const original = Utils.getORMVersion.bind(Utils)
    let detections = 0
    vi.spyOn(Utils, 'getORMVersion').mockImplementation(() => {
      if (/\bat detect \(.*[\\/]src[\\/]internals\.ts:/.test(new Error().stack ?? '')) detections++
      return original()
    })
    const paths = pathsOf(t.em)
    expect(paths).toEqual({ find: 'fast', creator: 'fast', pgCallback: 'fast' })
    expect(detections).toBe(1)
    for (const strategy of ['keyset', 'cursor']) {
      const { entities: read } = await run(Event, { orderBy: { occurredAt: 'desc' }, strategy })
      expect(read.length).toBe(300)
    }
    // each chunk runs in a fork of the same class: the runs read the detection, they do not detect again
    expect(detections).toBe(1)
    expect(pathsOf(t.em.fork())).toBe(paths)
    forgetDetectedPaths()
    expect(pathsOf(t.em)).toEqual(paths)
    expect(detections).toBe(2)
  })

  it('BATCHYIELD_MIKRO_PATHS=public takes the public paths on any version', () => {
    vi.stubEnv('BATCHYIELD_MIKRO_PATHS', 'public')
    expect(pathsOf(t.em)).toEqual({ find: 'public', creator: 'public', pgCallback: 'public' })
  })
})

describe('the public paths give the same entities as the fast paths and em.find', () => {
  const cases = [
    {
      name: 'events (a plain read), keyset',
      entity: Event,
      options: { orderBy: { occurredAt: 'desc' }, strategy: 'keyset' },
    },
    {
      name: 'events (a plain read), cursor',
      entity: Event,
      options: { orderBy: { occurredAt: 'desc' }, strategy: 'cursor' },
    },
    {
      name: 'books with their author and tags, keyset',
      entity: Book,
      options: { orderBy: { rating: 'desc' }, populate: ['author', 'tags'], strategy: 'keyset' },
    },
  ] as const

  for (const c of cases) {
    it(`${c.name}: an unknown MikroORM version (7.99.0) degrades to the public paths`, async () => {
      const { strategy, ...find } = c.options
      const expected = (await reference(c.entity, find as never)).map(describeEntity)
      const fast = await run(c.entity, c.options)
      expect(fast.entities.map(describeEntity)).toEqual(expected)

      forgetDetectedPaths()
      vi.spyOn(Utils, 'getORMVersion').mockReturnValue('7.99.0')
      expect(pathsOf(t.em)).toEqual({ find: 'public', creator: 'public', pgCallback: 'public' })
      const slow = await run(c.entity, c.options)
      expect(slow.entities.map(describeEntity)).toEqual(expected)
      expect(identityMapSize(t.em)).toBe(0)
      if (strategy === 'keyset') {
        // em.find per chunk: the seek, the order and the chunk's limit (populate adds its own queries by key)
        expectBoundedKeysetReads(chunkReads(slow.statements, c.entity === Book ? 'books' : 'events'), expected.length)
      } else {
        // the cursor reads keys only, and em.find loads each chunk by them
        const declares = slow.statements.filter(({ sql }) => /^declare /i.test(sql))
        expect(declares).toHaveLength(1)
        expect(declares[0]!.sql).toMatch(/^declare \S+ no scroll cursor for select "e0"\."id" from "events"/i)
        const fetches = slow.statements
          .map(({ sql }) => /^fetch forward (\d+) /i.exec(sql)?.[1])
          .filter((n) => n !== undefined)
          .map(Number)
        expect(fetches[0]).toBe(Math.min(BATCH, CHUNK))
        for (const size of fetches) expect(size).toBeLessThanOrEqual(CHUNK)
        // one em.find per chunk, by that chunk's keys: the first batch's, then the chunk size's
        const byKey = slow.statements.filter(({ sql }) => /^select/i.test(sql) && sql.includes('from "events"'))
        for (const { sql } of byKey) expect(sql).toMatch(/ where "e0"\."id" in \(/)
        expect(byKey.map(({ params }) => params.length)).toEqual(chunkRows(expected.length))
      }
    })
  }
})

describe('guards: a fast path that would not be in effect is not taken', () => {
  it("a prepareOptions() that drops the chunk's limit sends the chunk through em.find instead: same entities, every read bounded", async () => {
    const expected = (await reference(Event, { orderBy: { occurredAt: 'asc' } })).map(describeEntity)
    const prototype = EntityManager.prototype as unknown as {
      prepareOptions(options: Record<string, unknown>): Record<string, unknown>
    }
    const original = prototype.prepareOptions
    // only the adapter's own call is changed (em.find's own keeps its limit, as MikroORM would)
    let dropped = 0
    vi.spyOn(prototype, 'prepareOptions').mockImplementation(function (this: unknown, options) {
      const prepared = original.call(this, options)
      if (new Error().stack?.includes('planPlainFind') !== true) return prepared
      dropped++
      return { ...prepared, limit: undefined }
    })
    expect(pathsOf(t.em).find).toBe('fast')
    const { entities: read, statements } = await run(Event, { orderBy: { occurredAt: 'asc' }, strategy: 'keyset' })
    expect(read.map(describeEntity)).toEqual(expected)
    // every chunk's read has its LIMIT, though the adapter's prepareOptions ran and lost it
    expectBoundedKeysetReads(chunkReads(statements, 'events'), expected.length)
    expect(dropped).toBeGreaterThan(0)
  })
})

describe('internals with no public equivalent: UnsupportedMikroOrmError before any query', () => {
  it('a QueryBuilder without its state getter: qb.aiterator() throws naming it, and sends nothing', () => {
    const qb = (t.em.fork() as SqlEntityManager).createQueryBuilder(Book, 'b').select('*')
    const prototype = Object.getPrototypeOf(qb) as object
    const descriptor = Object.getOwnPropertyDescriptor(prototype, 'state')!
    Object.defineProperty(prototype, 'state', { configurable: true, get: () => undefined })
    try {
      sent.length = 0
      expect(() => qb.aiterator(10)).toThrow(UnsupportedMikroOrmError)
      expect(() => qb.aiterator(10)).toThrow(/QueryBuilder\.state .*Supported and tested: MikroORM 7\.2/)
      expect(sent).toEqual([])
    } finally {
      Object.defineProperty(prototype, 'state', descriptor)
    }
  })

  it("a QueryBuilder that does not keep its EntityManager in 'em': qb.aiterator() throws, and sends nothing", () => {
    const qb = (t.em.fork() as SqlEntityManager).createQueryBuilder(Book, 'b').select('*')
    const em = (qb as unknown as { em: EntityManager }).em
    delete (qb as unknown as { em?: EntityManager }).em
    Object.defineProperty(qb, 'entityManager', { value: em })
    sent.length = 0
    expect(() => aiteratorOf(qb)).toThrow(UnsupportedMikroOrmError)
    expect(() => aiteratorOf(qb)).toThrow(
      /does not keep its EntityManager in the field 'em'.*Supported and tested: MikroORM 7\.2/,
    )
    expect(sent).toEqual([])
  })
})

describe('objectQueryKeys: Utils.getObjectQueryKeys, or the same keys where MikroORM has none (6.x)', () => {
  it('string keys and raw() fragment keys, enumerable ones only, in order', () => {
    const fragment = raw('lower(name)')
    const order = { rating: 'desc', [fragment as unknown as string]: 'asc', id: 'asc' } as Record<
      string | symbol,
      unknown
    >
    Object.defineProperty(order, 'hidden', { value: 'asc', enumerable: false })
    const own = objectQueryKeys(order)
    expect(own.filter((key) => typeof key === 'string')).toEqual(['rating', 'id'])
    expect(own.some((key) => typeof key === 'symbol' && RawQueryFragment.isKnownFragmentSymbol(key))).toBe(true)
    vi.spyOn(Utils as unknown as { getObjectQueryKeys: unknown }, 'getObjectQueryKeys', 'get').mockReturnValue(
      undefined,
    )
    expect(objectQueryKeys(order)).toEqual(own)
  })
})

/** qb.aiterator through the function form, so the check runs on the instance as given. */
function aiteratorOf(qb: object): unknown {
  return (qb as { aiterator(size: number): unknown }).aiterator(10)
}
