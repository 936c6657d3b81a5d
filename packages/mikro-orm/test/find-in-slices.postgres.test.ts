import { seedEvents } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { type EntityManager, type EntityName, type EventArgs, type EventSubscriber, MikroORM } from '@mikro-orm/core'
import { PostgreSqlDriver } from '@mikro-orm/postgresql'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findInSlices, SLICE_ROWS } from '../src/find-in-slices.js'
import { Author, Book, Country, Device, entities, Event, EventSchema, OrderLine, Tag } from './entities.js'
import { describeEntity, identityMap } from './support.js'

const db = useTestDatabase('postgres', { seed: true })
const loadedBooks: number[] = []
/** Called on each Event entity created, while a test listens. */
let onEventInit: (() => void) | undefined
let orm: MikroORM
beforeAll(async () => {
  await seedEvents(db.url, 1_000)
  orm = new MikroORM({
    driver: PostgreSqlDriver,
    entities: [...entities, EventSchema],
    clientUrl: db.url,
    pool: { min: 0, max: 2 },
    allowGlobalContext: true,
  })
  orm.em.addFilter({ name: 'wellRated', cond: { rating: { $gte: 3 } }, entity: [Book], default: false })
  const onLoad: EventSubscriber<Book> = {
    getSubscribedEntities: () => [Book],
    onLoad: (args: EventArgs<Book>) => void loadedBooks.push(args.entity.id),
  }
  orm.em.getEventManager().registerSubscriber(onLoad)
  orm.em.getEventManager().registerSubscriber({ getSubscribedEntities: () => [Event], onInit: () => onEventInit?.() })
})
afterAll(() => orm?.close(true))

/** Loads with em.find and with findInSlices, each in a fresh fork, and returns both for comparison. */
async function loadBoth(entityName: EntityName<object>, where: object, options: Record<string, unknown>) {
  const viaFind = orm.em.fork({ clear: true })
  const viaSlices = orm.em.fork({ clear: true })
  const expected = await viaFind.find(entityName, where, options)
  const actual = await findInSlices(viaSlices, entityName, where, options)
  return { expected, actual, viaFind, viaSlices }
}

const cases: [string, EntityName<object>, object, Record<string, unknown>][] = [
  [
    'events (JSON, bigint, decimal, uuid, timestamptz, boolean), more rows than one slice',
    Event,
    {},
    { orderBy: [{ id: 'asc' }] },
  ],
  [
    'events with a where and a descending order',
    Event,
    { kind: { $in: ['click', 'view'] } },
    { orderBy: [{ occurredAt: 'desc' }, { id: 'desc' }], limit: 700 },
  ],
  ['books: many-to-one references, a nullable timestamp, decimals', Book, {}, { orderBy: [{ id: 'asc' }] }],
  ['books with a filter enabled', Book, {}, { orderBy: [{ id: 'asc' }], filters: { wellRated: true } }],
  ['books with fields', Book, { rating: { $gt: 1 } }, { orderBy: [{ id: 'asc' }], fields: ['title', 'rating'] }],
  ['books with exclude', Book, {}, { orderBy: [{ id: 'asc' }], exclude: ['publishedAt'] }],
  ['tags (an entity-level default orderBy)', Tag, {}, {}],
  ['order lines (composite primary key)', OrderLine, {}, { orderBy: [{ orderId: 'asc' }, { lineNo: 'asc' }] }],
  ['devices (uuid primary key)', Device, {}, { orderBy: [{ id: 'asc' }] }],
  ['countries (bigint as bigint, text primary key)', Country, {}, { orderBy: [{ code: 'asc' }] }],
  ['authors (a one-to-many collection, not populated)', Author, {}, { orderBy: [{ id: 'asc' }], limit: 5 }],
  // the join repeats a book per matching tag: a repeat is merged into the entity already created
  [
    'books by a condition on a to-many relation, nothing populated',
    Book,
    { tags: { id: { $lte: 10 } } },
    { orderBy: [{ rating: 'asc' }, { id: 'asc' }] },
  ],
]

describe('findInSlices produces exactly what em.find produces', () => {
  for (const [name, entityName, where, options] of cases) {
    it(name, async () => {
      const { expected, actual, viaFind, viaSlices } = await loadBoth(entityName, where, options)
      expect(expected.length).toBeGreaterThan(0)
      expect(actual.map(describeEntity)).toEqual(expected.map(describeEntity))
      expect(identityMap(viaSlices)).toEqual(identityMap(viaFind))
    })
  }

  it('populate (and anything else em.find does beyond a plain read) goes through em.find itself: same result', async () => {
    const { expected, actual, viaFind, viaSlices } = await loadBoth(
      Book,
      {},
      { orderBy: [{ id: 'asc' }], populate: ['author', 'tags'] },
    )
    expect(actual.map(describeEntity)).toEqual(expected.map(describeEntity))
    expect(identityMap(viaSlices)).toEqual(identityMap(viaFind))
  })

  it('onLoad hooks run once per loaded entity, as with em.find', async () => {
    loadedBooks.length = 0
    await findInSlices(orm.em.fork({ clear: true }), Book, {}, { orderBy: [{ id: 'asc' }] })
    expect(loadedBooks).toEqual(db.dataset.books.map((b) => b.id))
  })

  it('the entities flush like em.find’s: one change, one UPDATE of that column', async () => {
    const fork = orm.em.fork({ clear: true })
    const [event] = (await findInSlices(fork, Event, {}, { orderBy: [{ id: 'asc' }], limit: 250 })) as Event[]
    fork.getUnitOfWork().computeChangeSets()
    expect(fork.getUnitOfWork().getChangeSets()).toHaveLength(0) // JSON and the rest compare equal to the snapshot
    event!.quantity += 1
    fork.getUnitOfWork().computeChangeSets()
    const changeSets = fork.getUnitOfWork().getChangeSets()
    expect(changeSets.map((c) => c.payload)).toEqual([{ quantity: event!.quantity }])
  })

  it('lets the event loop turn between slices of entity creation, where em.find creates them all in one go', async () => {
    /** Loads 1,000 events with `load`, noting how many event-loop turns had passed at each entity created (its onInit). */
    const turnsAtEachCreate = async (load: (fork: EntityManager) => Promise<object[]>): Promise<number[]> => {
      const fork = orm.em.fork({ clear: true })
      const marks: number[] = []
      let turns = 0
      let counting = true
      const count = (): void => {
        turns++
        if (counting) setImmediate(count)
      }
      onEventInit = () => void marks.push(turns)
      setImmediate(count)
      try {
        expect(await load(fork)).toHaveLength(1_000)
      } finally {
        counting = false
        onEventInit = undefined
      }
      expect(marks).toHaveLength(1_000)
      return marks
    }
    const sliced = await turnsAtEachCreate((fork) => findInSlices(fork, Event, {}, { orderBy: [{ id: 'asc' }] }))
    const plain = await turnsAtEachCreate((fork) => fork.find(Event, {}, { orderBy: [{ id: 'asc' }] }))
    expect(plain.at(-1)! - plain[0]!).toBe(0)
    // 1,000 rows in slices of SLICE_ROWS: at least one turn between each two slices
    expect(SLICE_ROWS).toBeLessThan(1_000)
    expect(sliced.at(-1)! - sliced[0]!).toBeGreaterThanOrEqual(Math.ceil(1_000 / SLICE_ROWS) - 1)
  })
})
