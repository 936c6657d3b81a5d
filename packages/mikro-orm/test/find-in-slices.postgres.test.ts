import { seedEvents } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { defineEntity, type EntityManager, type EntityName, type EventArgs, type EventSubscriber, helper, MikroORM, p, wrap } from '@mikro-orm/core'
import { PostgreSqlDriver } from '@mikro-orm/postgresql'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findInSlices, SLICE_ROWS } from '../src/find-in-slices.js'
import { Author, Book, Country, Device, entities, OrderLine, Tag } from './entities.js'

// The wide fixture table: JSON, bigint and decimal as strings, uuid, timestamptz, boolean.
const EventSchema = defineEntity({
  name: 'Event',
  tableName: 'events',
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    occurredAt: p.datetime().fieldName('occurred_at').columnType('timestamptz'),
    kind: p.string().length(32),
    userId: p.integer().fieldName('user_id'),
    sessionId: p.uuid().fieldName('session_id'),
    source: p.string().length(32),
    country: p.string().length(8),
    amount: p.decimal('string').precision(12).scale(2),
    quantity: p.integer(),
    isTest: p.boolean().fieldName('is_test'),
    tags: p.text(),
    payload: p.json<Record<string, unknown>>().columnType('jsonb'),
  },
})
class Event extends EventSchema.class {}
EventSchema.setClass(Event)

const db = useTestDatabase('postgres', { seed: true })
const loadedBooks: number[] = []
let orm: MikroORM
beforeAll(async () => {
  await seedEvents(db.url, 1_000)
  orm = new MikroORM({ driver: PostgreSqlDriver, entities: [...entities, EventSchema], clientUrl: db.url, pool: { min: 0, max: 2 }, allowGlobalContext: true })
  orm.em.addFilter({ name: 'wellRated', cond: { rating: { $gte: 3 } }, entity: [Book], default: false })
  const onLoad: EventSubscriber<Book> = {
    getSubscribedEntities: () => [Book],
    onLoad: (args: EventArgs<Book>) => void loadedBooks.push(args.entity.id),
  }
  orm.em.getEventManager().registerSubscriber(onLoad)
})
afterAll(() => orm?.close(true))

/** Everything about a loaded entity that em.find decides: class, values, snapshot, loaded properties, state flags. */
function describeEntity(entity: object) {
  const wrapped = helper(entity) as unknown as Record<string, unknown> & { __loadedProperties: Set<string> }
  return {
    class: entity.constructor,
    values: wrap(entity).toObject(),
    ownKeys: Object.keys(entity),
    snapshot: wrapped.__originalEntityData,
    loadedProperties: [...wrapped.__loadedProperties].sort(),
    initialized: wrapped.__initialized,
    managed: wrapped.__managed,
    onLoadFired: wrapped.__onLoadFired,
  }
}

/** The fork's identity map: every entity (loaded or a reference) by class and primary key. */
function identityMap(em: EntityManager) {
  return [...em.getUnitOfWork().getIdentityMap()]
    .map((entity) => `${entity.constructor.name}:${JSON.stringify(helper(entity).getPrimaryKey(true))}:${helper(entity).isInitialized()}`)
    .sort()
}

/** Loads with em.find and with findInSlices, each in a fresh fork, and returns both for comparison. */
async function loadBoth(entityName: EntityName<object>, where: object, options: Record<string, unknown>) {
  const viaFind = orm.em.fork({ clear: true })
  const viaSlices = orm.em.fork({ clear: true })
  const expected = await viaFind.find(entityName, where, options)
  const actual = await findInSlices(viaSlices, entityName, where, options)
  return { expected, actual, viaFind, viaSlices }
}

const cases: [string, EntityName<object>, object, Record<string, unknown>][] = [
  ['events (JSON, bigint, decimal, uuid, timestamptz, boolean), more rows than one slice', Event, {}, { orderBy: [{ id: 'asc' }] }],
  ['events with a where and a descending order', Event, { kind: { $in: ['click', 'view'] } }, { orderBy: [{ occurredAt: 'desc' }, { id: 'desc' }], limit: 700 }],
  ['books: many-to-one references, a nullable timestamp, decimals', Book, {}, { orderBy: [{ id: 'asc' }] }],
  ['books with a filter enabled', Book, {}, { orderBy: [{ id: 'asc' }], filters: { wellRated: true } }],
  ['books with fields', Book, { rating: { $gt: 1 } }, { orderBy: [{ id: 'asc' }], fields: ['title', 'rating'] }],
  ['books with exclude', Book, {}, { orderBy: [{ id: 'asc' }], exclude: ['publishedAt'] }],
  ['tags (an entity-level default orderBy)', Tag, {}, {}],
  ['order lines (composite primary key)', OrderLine, {}, { orderBy: [{ orderId: 'asc' }, { lineNo: 'asc' }] }],
  ['devices (uuid primary key)', Device, {}, { orderBy: [{ id: 'asc' }] }],
  ['countries (bigint as bigint, text primary key)', Country, {}, { orderBy: [{ code: 'asc' }] }],
  ['authors (a one-to-many collection, not populated)', Author, {}, { orderBy: [{ id: 'asc' }], limit: 5 }],
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
    const { expected, actual, viaFind, viaSlices } = await loadBoth(Book, {}, { orderBy: [{ id: 'asc' }], populate: ['author', 'tags'] })
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
    /** Loads 1,000 events with `load`, noting how many event-loop turns had passed at each entity created. */
    const turnsAtEachCreate = async (load: (fork: EntityManager) => Promise<object[]>): Promise<number[]> => {
      const fork = orm.em.fork({ clear: true })
      const factory = fork.getEntityFactory()
      const create = factory.create.bind(factory)
      const marks: number[] = []
      let turns = 0
      let counting = true
      const count = (): void => {
        turns++
        if (counting) setImmediate(count)
      }
      factory.create = ((...args: Parameters<typeof create>) => {
        marks.push(turns)
        return create(...args)
      }) as typeof factory.create
      setImmediate(count)
      try {
        expect(await load(fork)).toHaveLength(1_000)
      } finally {
        counting = false
      }
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
