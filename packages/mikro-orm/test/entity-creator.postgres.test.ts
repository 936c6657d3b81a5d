/**
 * entityCreator against MikroORM's own EntityFactory.create, on the same rows: the same entities
 * (class, values, own keys in order, snapshot, loaded properties, state flags), the same identity
 * map, the same change sets after the same edits, the same onInit events.
 */
import { seedEvents } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import {
  type Configuration,
  defineEntity,
  type EntityData,
  type EntityFactory,
  type EntityManager,
  type EntityMetadata,
  type EntityName,
  type EventArgs,
  helper,
  Hydrator,
  type MetadataStorage,
  ObjectHydrator,
  type Options,
  p,
  type Platform,
  Utils,
} from '@mikro-orm/core'
import v8 from 'node:v8'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { aiterator } from '../src/aiterator.js'
import { entityCreator } from '../src/entity-creator.js'
import { FAST_CREATOR_LINES } from '../src/internals.js'
import { Author, Book, Country, Device, entities, Event, EventSchema, OrderLine, Tag } from './entities.js'
import { describeEntity, identityMap, openOrm, type TestOrm } from './support.js'

// The tags table again, with a forced constructor: a shape the creator leaves to EntityFactory.create.
const ConstructedTagSchema = defineEntity({
  name: 'ConstructedTag',
  tableName: 'tags',
  forceConstructor: true,
  properties: {
    id: p.integer().primary().autoincrement(),
    name: p.string().length(100),
  },
})
class ConstructedTag extends ConstructedTagSchema.class {}
ConstructedTagSchema.setClass(ConstructedTag)

/** A hydrator of the user's own (not an ObjectHydrator): MikroORM's, behind a class that counts the calls. */
class CountingHydrator extends Hydrator {
  static calls = 0
  readonly #inner: ObjectHydrator
  constructor(metadata: MetadataStorage, platform: Platform, config: Configuration) {
    super(metadata, platform, config)
    this.#inner = new ObjectHydrator(metadata, platform, config)
  }
  override hydrate<T extends object>(
    entity: T,
    meta: EntityMetadata<T>,
    data: EntityData<T>,
    factory: EntityFactory,
    type: 'full' | 'reference',
    newEntity?: boolean,
    convertCustomTypes?: boolean,
    schema?: string,
    parentSchema?: string,
  ): void {
    CountingHydrator.calls += 1
    this.#inner.hydrate(entity, meta, data, factory, type, newEntity, convertCustomTypes, schema, parentSchema)
  }
  override hydrateReference<T extends object>(
    entity: T,
    meta: EntityMetadata<T>,
    data: EntityData<T>,
    factory: EntityFactory,
    convertCustomTypes?: boolean,
    schema?: string,
    parentSchema?: string,
  ): void {
    CountingHydrator.calls += 1
    this.#inner.hydrateReference(entity, meta, data, factory, convertCustomTypes, schema, parentSchema)
  }
  override isRunning(): boolean {
    return this.#inner.isRunning()
  }
}

const db = useTestDatabase('postgres', { seed: true })
let t: TestOrm
/** A second MikroORM for ConstructedTag (one table, one entity per MikroORM). */
let constructed: TestOrm
const inits: string[] = []
beforeAll(async () => {
  await seedEvents(db.url, 300)
  t = openOrm('postgres', db.url, { entities: [...entities, EventSchema] })
  constructed = openOrm('postgres', db.url, { entities: [ConstructedTagSchema] })
  t.em.getEventManager().registerSubscriber({
    getSubscribedEntities: () => [Book],
    onInit: (args: EventArgs<Book>) => void inits.push(`${args.entity.id}:${args.em.id}`),
  })
})
afterAll(async () => {
  await t?.close()
  await constructed?.close()
})

/** The rows em.find would create entities from (the driver's mapped results), in primary-key order. */
async function rowsOf(entityName: EntityName<object>, where: object = {}): Promise<object[]> {
  const em = emFor(entityName).fork({ clear: true })
  const meta = em.getMetadata(entityName)
  const orderBy = meta.primaryKeys.map((pk) => ({ [pk]: 'asc' }))
  return em.getDriver().find(entityName, where, { orderBy, populate: [], em } as never)
}

/** The entities of `rows` in a fresh fork, through MikroORM's factory or through entityCreator. */
function createAll(
  entityName: EntityName<object>,
  rows: readonly object[],
  via: 'factory' | 'creator',
  prepare?: (fork: EntityManager) => void,
  refresh?: boolean,
  em = emFor(entityName),
) {
  const fork = em.fork({ clear: true })
  prepare?.(fork)
  const create =
    via === 'factory'
      ? (row: object) =>
          fork.getEntityFactory().create(entityName, row as never, {
            merge: true,
            convertCustomTypes: true,
            ...(refresh === undefined ? {} : { refresh }),
          })
      : entityCreator(fork, entityName, refresh === undefined ? {} : { refresh })
  return { fork, entities: rows.map((row) => create(row)) }
}

function emFor(entityName: EntityName<object>): EntityManager {
  return entityName === ConstructedTag ? constructed.em : t.em
}

/** Runs `check` with a second MikroORM on the test database (every fixture entity, plus `options`), closed afterwards. */
async function withOtherOrm(options: Partial<Options>, check: (other: TestOrm) => Promise<void>): Promise<void> {
  const other = openOrm('postgres', db.url, { entities: [...entities, EventSchema], ...options })
  try {
    await check(other)
  } finally {
    await other.close()
  }
}

/** True when two entities share their accessor functions: the creator's path (MikroORM's own defines them per instance). */
function sharesAccessors(a: object, b: object, property: string): boolean {
  return Object.getOwnPropertyDescriptor(a, property)?.get === Object.getOwnPropertyDescriptor(b, property)?.get
}

const cases: [string, EntityName<object>, string, boolean][] = [
  ['events (JSON, bigint and decimal as strings, uuid, timestamptz, boolean)', Event, 'payload', true],
  ['books (a to-one relation, a many-to-many collection, nullable timestamp)', Book, 'title', true],
  ['authors (a one-to-many collection)', Author, 'email', true],
  ['tags', Tag, 'name', true],
  ['order lines (composite primary key)', OrderLine, 'sku', true],
  ['devices (uuid primary key)', Device, 'label', true],
  ['countries (text primary key, bigint as bigint)', Country, 'name', true],
  ['tags with a forced constructor (left to EntityFactory.create)', ConstructedTag, 'name', false],
]

describe('entityCreator creates what EntityFactory.create creates', () => {
  it('the installed MikroORM is a release the creator was written for (else every entity would go through EntityFactory.create)', () => {
    expect(Utils.getORMVersion()).toMatch(FAST_CREATOR_LINES)
  })

  for (const [name, entityName, property, fast] of cases) {
    it(name, async () => {
      const rows = await rowsOf(entityName)
      expect(rows.length).toBeGreaterThan(1)
      const expected = createAll(entityName, rows, 'factory')
      const actual = createAll(entityName, rows, 'creator')
      expect(actual.entities.map(describeEntity)).toEqual(expected.entities.map(describeEntity))
      expect(identityMap(actual.fork)).toEqual(identityMap(expected.fork))
      expect(
        actual.entities.filter(
          (entity) => Object.getPrototypeOf(entity) !== Object.getPrototypeOf(expected.entities[0]),
        ),
      ).toEqual([])
      // registered by the fork's own unit of work (what flushes them)
      expect(actual.entities.filter((entity) => helper(entity).__em !== actual.fork)).toEqual([])
      expect(expected.entities.filter((entity) => helper(entity).__em !== expected.fork)).toEqual([])
      expect(sharesAccessors(actual.entities[0]!, actual.entities[1]!, property)).toBe(fast)
      expect(sharesAccessors(expected.entities[0]!, expected.entities[1]!, property)).toBe(false)
      // the rows are left as they were (both paths hydrate a copy)
      expect(rows).toEqual(await rowsOf(entityName))
    })
  }

  for (const [name, entityName] of cases) {
    it(`${name}: an entity already in the fork (a reference) and a row given twice are merged, as EntityFactory.create does`, async () => {
      const key = helper(
        createAll(entityName, (await rowsOf(entityName)).slice(1, 2), 'factory').entities[0]!,
      ).getPrimaryKey()
      const withReference = (fork: EntityManager) => void fork.getReference(entityName, key as never)
      // fresh rows for each path: merging may change the row it merges
      const twice = (rows: object[]) => [...rows, rows[0]!]
      const expected = createAll(entityName, twice(await rowsOf(entityName)), 'factory', withReference)
      const actual = createAll(entityName, twice(await rowsOf(entityName)), 'creator', withReference)
      expect(actual.entities[1]).toBe(actual.fork.getReference(entityName, key as never))
      expect(actual.entities.at(-1)).toBe(actual.entities[0])
      expect(actual.entities.map(describeEntity)).toEqual(expected.entities.map(describeEntity))
      expect(identityMap(actual.fork)).toEqual(identityMap(expected.fork))
    })
  }

  for (const refresh of [false, true]) {
    it(`an entity already loaded and edited in the fork, created again with refresh: ${refresh}, ends as with EntityFactory.create`, async () => {
      const rowsForEdit = await rowsOf(Book)
      const loadAndEdit = (fork: EntityManager) => {
        const book = fork
          .getEntityFactory()
          .create(Book, { ...rowsForEdit[0] } as never, { merge: true, convertCustomTypes: true }) as Book
        book.title = 'Edited before the run'
      }
      const expected = createAll(Book, await rowsOf(Book), 'factory', loadAndEdit, refresh)
      const actual = createAll(Book, await rowsOf(Book), 'creator', loadAndEdit, refresh)
      // merged, the edit stays; refreshed, the row's value wins
      expect((actual.entities[0] as Book).title).toBe(
        refresh ? (rowsForEdit[0] as Book).title : 'Edited before the run',
      )
      expect(actual.entities.map(describeEntity)).toEqual(expected.entities.map(describeEntity))
      expect(identityMap(actual.fork)).toEqual(identityMap(expected.fork))
    })
  }

  it("with a hydrator of the user's own, its methods create the entities, with the same result", async () => {
    await withOtherOrm({ hydrator: CountingHydrator }, async (custom) => {
      for (const entityName of [Event, Book] as EntityName<object>[]) {
        const rows = await rowsOf(entityName)
        CountingHydrator.calls = 0
        const expected = createAll(entityName, rows, 'factory', undefined, undefined, custom.em)
        const factoryCalls = CountingHydrator.calls
        CountingHydrator.calls = 0
        const actual = createAll(entityName, rows, 'creator', undefined, undefined, custom.em)
        // through the user's class: a reference and a full hydration per entity (and the books' authors' references), as the factory's
        expect(CountingHydrator.calls).toBeGreaterThanOrEqual(2 * rows.length)
        expect(CountingHydrator.calls).toBe(factoryCalls)
        expect(actual.entities.map(describeEntity)).toEqual(expected.entities.map(describeEntity))
        expect(identityMap(actual.fork)).toEqual(identityMap(expected.fork))
        expect(
          sharesAccessors(actual.entities[0]!, actual.entities[1]!, entityName === Event ? 'payload' : 'title'),
        ).toBe(true)
      }
    })
  })

  it('with an onLoad listener, dispatchOnLoadEvent fires it once per created entity, as after EntityFactory.create', async () => {
    const loaded: string[] = []
    await withOtherOrm(
      {
        subscribers: [
          {
            getSubscribedEntities: () => [Event, Book],
            onLoad: (args: EventArgs<object>) =>
              void loaded.push(`${args.entity.constructor.name}:${String((args.entity as { id: unknown }).id)}`),
          },
        ],
      },
      async (listening) => {
        for (const entityName of [Event, Book] as EntityName<object>[]) {
          const rows = await rowsOf(entityName)
          const fired = async (via: 'factory' | 'creator') => {
            const created = createAll(entityName, rows, via, undefined, undefined, listening.em)
            await created.fork.getUnitOfWork().dispatchOnLoadEvent()
            return { loaded: loaded.splice(0), described: created.entities.map(describeEntity) }
          }
          const expected = await fired('factory')
          expect(expected.loaded).toHaveLength(rows.length)
          expect(await fired('creator')).toEqual(expected)
        }
      },
    )
  })

  it('with forceUndefined, the snapshot has undefined for null columns, as with EntityFactory.create', async () => {
    await withOtherOrm({ forceUndefined: true }, async (forcing) => {
      // books have a relation, devices none (their registrations take different paths in the creator)
      for (const entityName of [Book, Author, Event, Device] as EntityName<object>[]) {
        const rows = await rowsOf(entityName)
        const expected = createAll(entityName, rows, 'factory', undefined, undefined, forcing.em).entities.map(
          describeEntity,
        )
        if (entityName === Book || entityName === Device)
          expect(expected.some((entity) => Object.values(entity.snapshot as object).includes(undefined))).toBe(true)
        expect(
          createAll(entityName, rows, 'creator', undefined, undefined, forcing.em).entities.map(describeEntity),
        ).toEqual(expected)
      }
    })
  })

  it('the same edits give the same change sets: scalars, JSON, a to-one relation', async () => {
    const edit = (via: 'factory' | 'creator') => {
      const events = createAll(Event, eventRows, via)
      const [first, second] = events.entities as Event[]
      first!.quantity += 1
      second!.payload = { ...second!.payload, note: 'edited' }
      const books = createAll(Book, bookRows, via)
      const [book, other] = books.entities as Book[]
      book!.title = 'Edited'
      book!.author = other!.author
      const changes = (fork: EntityManager) => {
        fork.getUnitOfWork().computeChangeSets()
        return fork
          .getUnitOfWork()
          .getChangeSets()
          .map((c) => ({ entity: c.entity.constructor.name, pk: helper(c.entity).getPrimaryKey(), payload: c.payload }))
      }
      return [...changes(events.fork), ...changes(books.fork)]
    }
    const eventRows = await rowsOf(Event)
    const bookRows = await rowsOf(Book, { author: { $ne: null } })
    const expected = edit('factory')
    expect(expected).toHaveLength(3)
    expect(edit('creator')).toEqual(expected)
  })

  it('onInit fires once per entity, in order, as with EntityFactory.create', async () => {
    const rows = await rowsOf(Book)
    inits.length = 0
    const viaFactory = createAll(Book, rows, 'factory')
    const expected = inits.splice(0).map((entry) => entry.replace(`:${viaFactory.fork.id}`, ''))
    const viaCreator = createAll(Book, rows, 'creator')
    expect(inits.map((entry) => entry.replace(`:${viaCreator.fork.id}`, ''))).toEqual(expected)
    expect(expected).toEqual(rows.map((row) => `${(row as { id: number }).id}`))
  })

  it('an entity already in the identity map (a reference) is merged and initialized, as EntityFactory.create does', async () => {
    const rows = await rowsOf(Book)
    const referenced = (rows[3] as { id: number }).id
    const withReference = (fork: EntityManager) => void fork.getReference(Book, referenced)
    const expected = createAll(Book, rows, 'factory', withReference)
    const actual = createAll(Book, rows, 'creator', withReference)
    expect(actual.entities[3]).toBe(actual.fork.getReference(Book, referenced))
    expect(actual.entities.map(describeEntity)).toEqual(expected.entities.map(describeEntity))
    expect(identityMap(actual.fork)).toEqual(identityMap(expected.fork))
  })
})

describe("the creator's entities keep V8's fast properties", () => {
  // V8's own view of an object (a dictionary-mode object is slower to create and to read); the flag only lets code ask.
  v8.setFlagsFromString('--allow-natives-syntax')
  const hasFastProperties = new Function('object', 'return %HasFastProperties(object)') as (object: object) => boolean

  it('while entities MikroORM created itself are alive (em.find before the run), for keyset and cursor', async () => {
    const loadedBefore = await t.em.fork().find(Event, {}, { orderBy: { id: 'asc' }, limit: 20 })
    expect(loadedBefore).toHaveLength(20)
    for (const strategy of ['keyset', 'cursor'] as const) {
      const entities: object[] = []
      for await (const batch of aiterator(t.em.fork(), Event, { strategy, chunkSize: 100, batchYieldSize: 50 }))
        entities.push(...batch)
      expect(entities).toHaveLength(300)
      expect(entities.filter((entity) => !hasFastProperties(entity))).toEqual([])
    }
    // still alive: their hidden classes are the ones the creator's entities must not share
    expect(loadedBefore.every((entity) => helper(entity).__managed)).toBe(true)
  })

  for (const [name, entityName] of cases.filter(([, , , fast]) => fast)) {
    it(`${name}: while entities EntityFactory.create made from the same rows are alive`, async () => {
      const theirs = createAll(entityName, await rowsOf(entityName), 'factory')
      const ours = createAll(entityName, await rowsOf(entityName), 'creator')
      expect(ours.entities.filter((entity) => !hasFastProperties(entity))).toEqual([])
      expect(theirs.entities).toHaveLength(ours.entities.length) // alive until here
    })
  }

  it('when another MikroORM instance discovers the same entity classes between two runs (new relation accessors)', async () => {
    const before = createAll(Book, await rowsOf(Book), 'creator')
    await withOtherOrm({}, async (other) => {
      const after = createAll(Book, await rowsOf(Book), 'creator')
      expect([...before.entities, ...after.entities].filter((entity) => !hasFastProperties(entity))).toEqual([])
      expect(
        createAll(Book, await rowsOf(Book), 'creator', undefined, undefined, other.em).entities.filter(
          (entity) => !hasFastProperties(entity),
        ),
      ).toEqual([])
    })
  })
})
