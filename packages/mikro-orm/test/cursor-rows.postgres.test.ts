/**
 * The cursor strategy on a plain read (nothing populated) declares its cursor over em.find's own
 * SELECT and creates each chunk's entities from the fetched rows: one statement per chunk. These
 * tests hold that path to em.find's result, entity by entity, and check the statements it sends.
 */
import { seedEvents } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { type EntityManager, type EntityName, helper } from '@mikro-orm/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import '../src/index.js'
import { Book, entities, Event, EventSchema, OrderLine } from './entities.js'
import {
  collectBatches,
  describeEntity,
  identityMap,
  identityMapSize,
  openOrm,
  type TestOrm,
  withTieBreaker,
} from './support.js'
import { WHOLE_CHUNKS } from './whole-chunks.js'

const db = useTestDatabase('postgres', { seed: true })
let t: TestOrm
/** Called on each Event entity created, while a test listens. */
let onEventInit: (() => void) | undefined
beforeAll(async () => {
  await seedEvents(db.url, 1_000)
  t = openOrm('postgres', db.url, { entities: [...entities, EventSchema] })
  t.em.getEventManager().registerSubscriber({ getSubscribedEntities: () => [Event], onInit: () => onEventInit?.() })
})
afterAll(() => t?.close())

const CHUNK = 97

interface PlainCase {
  readonly name: string
  readonly entity: EntityName<object>
  readonly options: { where?: object; orderBy?: object; exclude?: string[]; offset?: number; limit?: number }
  /** Rows repeat (a join on a to-many condition), so more FETCHes than chunks may be needed. */
  readonly repeatsRows?: boolean
}

const cases: readonly PlainCase[] = [
  {
    name: 'events (JSON, bigint, decimal, uuid, timestamptz, boolean)',
    entity: Event,
    options: { orderBy: { occurredAt: 'desc' } },
  },
  {
    name: 'books by a condition, ordered by a non-unique column',
    entity: Book,
    options: { where: { rating: { $gt: 1 } }, orderBy: { rating: 'desc' } },
  },
  { name: 'books with exclude', entity: Book, options: { exclude: ['publishedAt'] } },
  {
    name: 'books with offset and limit',
    entity: Book,
    options: { orderBy: { rating: 'asc' }, offset: 13, limit: 150 },
  },
  { name: 'order lines (composite primary key)', entity: OrderLine, options: {} },
  {
    name: 'books by a condition on a to-many relation, nothing populated',
    entity: Book,
    options: { where: { tags: { id: { $lte: 10 } } } },
    repeatsRows: true,
  },
]

/** em.find in a fresh fork, ordered as aiterator orders (the primary key appended). */
async function reference(em: EntityManager, c: PlainCase): Promise<object[]> {
  const meta = em.getMetadata(c.entity)
  const { where = {}, orderBy, ...rest } = c.options
  return em
    .fork({ clear: true })
    .find(c.entity, where, { ...rest, orderBy: withTieBreaker(orderBy, meta.primaryKeys, meta.orderBy) } as never)
}

describe("strategy 'cursor', nothing populated: a cursor over em.find's SELECT, one FETCH per chunk", () => {
  for (const c of cases) {
    it(`${c.name}: the same entities em.find creates, each chunk in its own fork`, async () => {
      const expected = await reference(t.em, c)
      expect(expected.length).toBeGreaterThan(CHUNK)
      t.queries.length = 0
      const batches = await collectBatches(
        t.em.aiterator(c.entity, {
          ...c.options,
          strategy: 'cursor',
          chunkSize: CHUNK,
          batchYieldSize: 40,
        } as never) as AsyncIterable<object[]>,
      )
      const actual = batches.flat()
      expect(actual.map(describeEntity)).toEqual(expected.map(describeEntity))

      // each chunk's entities, and only they, are in that chunk's fork; the caller's EntityManager stays empty
      const chunks = chunksByFork(actual)
      expect(chunks.length).toBeGreaterThanOrEqual(Math.ceil(actual.length / CHUNK))
      for (const [fork, chunk] of chunks)
        expect(identityMap(fork).filter((entry) => entry.endsWith(':true'))).toEqual(identityMapOf(chunk))

      // one FETCH per chunk (one more finds the end), no second query by key
      expect(t.queries.filter((sql) => /^select/i.test(sql))).toEqual([])
      const fetches = t.queries.filter((sql) => /^fetch forward/i.test(sql)).length
      if (c.repeatsRows === true) expect(fetches).toBeGreaterThanOrEqual(chunks.length)
      // an offset's skipped rows cost the first chunk a second FETCH, and the read-ahead sent at the
      // first (batch-sized) chunk's size is topped up once
      else expect(fetches).toBeLessThanOrEqual(chunks.length + 1 + (c.options.offset === undefined ? 0 : 2))
      expect(t.queries.filter((sql) => /^declare /i.test(sql))).toHaveLength(1)
      expect(identityMapSize(t.em)).toBe(0)
    })
  }

  it.each([0, 1])(
    'prefetch %i: the next FETCH goes out before a chunk’s entities are created only with read-ahead',
    async (prefetch) => {
      const fetches = () => t.queries.filter((sql) => /^fetch forward/i.test(sql)).length
      const fetchesAtCreate: number[] = []
      onEventInit = () => void fetchesAtCreate.push(fetches())
      try {
        t.queries.length = 0
        // what each FETCH reads is pinned: without the byte bound's 32-row probe
        const events = (
          await collectBatches(
            t.em.aiterator(Event, {
              strategy: 'cursor',
              chunkSize: 300,
              batchYieldSize: 300,
              prefetch,
              ...WHOLE_CHUNKS,
            }),
          )
        ).flat()
        expect(events).toHaveLength(1_000)
        // chunk n's entities (300 each) are created after FETCH n (prefetch 0), or after FETCH n + 1 (read-ahead)
        const expected = events.map((_, i) => Math.floor(i / 300) + 1 + Math.min(prefetch, i < 900 ? 1 : 0))
        expect(fetchesAtCreate).toEqual(expected)
        // 1,000 rows: 300, 300, 300, then 100 (fewer than asked: the end), read once each
        expect(fetches()).toBe(4)
      } finally {
        onEventInit = undefined
      }
    },
  )

  // PostgreSQL cursors are insensitive: they read the snapshot of their DECLARE, also inside a transaction
  it.each([
    [
      'a plain read: rows of the snapshot the cursor was declared in, a row deleted later included, with its old values',
      {},
    ],
    [
      'with populate: keys of that snapshot, each chunk loaded as the transaction sees it then, a deleted row left out',
      { populate: ['author'] },
    ],
  ] as const)('inside em.transactional, %s', async (_, options) => {
    const ids = db.dataset.books.map((b) => b.id).sort((a, b) => a - b)
    const [deleted, renamed] = [ids.at(-1)!, ids.at(-2)!]
    const rollback = new Error('roll back')
    const seen = new Map<number, string>()
    await expect(
      t.em.transactional(async (em) => {
        for await (const books of em.aiterator(Book, {
          ...options,
          strategy: 'cursor',
          chunkSize: 20,
          batchYieldSize: 20,
        })) {
          if (seen.size === 0) {
            await em.nativeDelete(Book, { id: deleted })
            await em.nativeUpdate(Book, { id: renamed }, { title: 'renamed in the transaction' })
          }
          for (const book of books) seen.set(book.id, book.title)
        }
        throw rollback
      }),
    ).rejects.toBe(rollback)
    const titles = new Map(db.dataset.books.map((b) => [b.id, b.title]))
    if ('populate' in options) {
      expect([...seen.keys()]).toEqual(ids.slice(0, -1))
      expect(seen.get(renamed)).toBe('renamed in the transaction')
    } else {
      expect([...seen.keys()]).toEqual(ids)
      expect(seen.get(deleted)).toBe(titles.get(deleted))
      expect(seen.get(renamed)).toBe(titles.get(renamed))
    }
  })

  it('the entities track changes like em.find’s: none after loading, one changed column after one change', async () => {
    const [first] = (
      await collectBatches(
        t.em.aiterator(Event, { strategy: 'cursor', chunkSize: CHUNK, batchYieldSize: 40, limit: 40 }),
      )
    ).flat()
    const fork = helper(first!).__em!
    fork.getUnitOfWork().computeChangeSets()
    expect(fork.getUnitOfWork().getChangeSets()).toHaveLength(0)
    first!.quantity += 1
    fork.getUnitOfWork().computeChangeSets()
    expect(
      fork
        .getUnitOfWork()
        .getChangeSets()
        .map((c) => c.payload),
    ).toEqual([{ quantity: first!.quantity }])
  })

  // em.find turns `fields` into populate hints, so a partial read takes the key path too
  for (const [name, options] of [
    ['populate', { populate: ['author'] }],
    ['fields', { fields: ['title', 'rating'] }],
  ] as const) {
    it(`${name} keeps the key cursor: one em.find by key per chunk, so relations load once per chunk`, async () => {
      t.queries.length = 0
      const books = (
        await collectBatches(
          t.em.aiterator(Book, {
            ...options,
            strategy: 'cursor',
            chunkSize: CHUNK,
            batchYieldSize: 40,
          } as never) as AsyncIterable<Book[]>,
        )
      ).flat()
      expect(books.length).toBeGreaterThan(CHUNK)
      if (name === 'populate') expect(books.every((book) => helper(book.author).isInitialized())).toBe(true)
      const byKey = t.queries.filter((sql) => /^select/i.test(sql) && / in \(/i.test(sql))
      expect(byKey).toHaveLength(chunksByFork(books).length)
    })
  }
})

/** The entities in the order yielded, grouped by the fork that loaded them (each fork's must be contiguous). */
function chunksByFork(entities: readonly object[]): [EntityManager, object[]][] {
  const chunks: [EntityManager, object[]][] = []
  for (const entity of entities) {
    const fork = helper(entity).__em!
    if (chunks.at(-1)?.[0] === fork) chunks.at(-1)![1].push(entity)
    else {
      expect(chunks.some(([seen]) => seen === fork)).toBe(false)
      chunks.push([fork, [entity]])
    }
  }
  return chunks
}

/** The loaded part of the identity map of a fork holding exactly `chunk` (references to other entities aside). */
function identityMapOf(chunk: readonly object[]): string[] {
  return chunk
    .map((entity) => `${entity.constructor.name}:${JSON.stringify(helper(entity).getPrimaryKey(true))}:true`)
    .sort()
}
