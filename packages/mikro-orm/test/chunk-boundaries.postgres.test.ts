/**
 * Chunk boundaries: what differs from one em.find over every row (the README section "Chunk
 * boundaries: what differs from one em.find"). Each chunk's entities live in that chunk's fork,
 * so a row related to rows of another chunk is met there as a new object. Every documented
 * difference is asserted here against em.find, for both strategies, and so is the rest: within one
 * chunk, everything is as em.find.
 *
 * Rows and chunks of 3 (ids in order): categories [1 2 3] [4 5 6] [7 8] with parents 1→4 (a later
 * chunk), 2→3 (same chunk), 5→1 (an earlier chunk), 6→5 (same chunk); animals (single-table
 * inheritance) [dog 1, dog 2, cat 3] [cat 4, dog 5, cat 6] with mothers 1→4, 2→3, 5→1.
 */
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { type EntityManager, type EventArgs, helper, wrap } from '@mikro-orm/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { aiterator, entityManagerOf, flushBatch } from '../src/index.js'
import {
  Animal,
  AnimalSchema,
  Author,
  Book,
  Cat,
  CatSchema,
  Category,
  CategorySchema,
  Dog,
  DogSchema,
  entities,
} from './entities.js'
import { describeEntity, openOrm, type TestOrm } from './support.js'

const db = useTestDatabase('postgres', { seed: true })
let t: TestOrm
/** onInit and onLoad of every Category, Animal and Author, in order, while a test records. */
const events: { event: string; entity: object; description: string }[] = []
beforeAll(async () => {
  const own = [CategorySchema, AnimalSchema, DogSchema, CatSchema]
  const schema = openOrm('postgres', db.url, { entities: own })
  try {
    await schema.orm.schema.create()
  } finally {
    await schema.close()
  }
  t = openOrm('postgres', db.url, { entities: [...entities, ...own] })
  const connection = t.em.getConnection()
  await connection.execute(
    `insert into categories (id, name) values (1, 'c1'), (2, 'c2'), (3, 'c3'), (4, 'c4'), (5, 'c5'), (6, 'c6'), (7, 'c7'), (8, 'c8')`,
  )
  await connection.execute(
    `update categories set parent_id = case id when 1 then 4 when 2 then 3 when 5 then 1 when 6 then 5 end`,
  )
  await connection.execute(
    `insert into animals (id, type, name) values (1, 'dog', 'd1'), (2, 'dog', 'd2'), (3, 'cat', 'c3'), (4, 'cat', 'c4'), (5, 'dog', 'd5'), (6, 'cat', 'c6')`,
  )
  await connection.execute(`update animals set mother_id = case id when 1 then 4 when 2 then 3 when 5 then 1 end`)
  // the class as it is at the event: em.find may change a reference's prototype later
  const record = (event: string) => (args: EventArgs<object>) => {
    const { entity } = args
    events.push({
      event,
      entity,
      description: `${entity.constructor.name}#${(entity as { id: number }).id} ${helper(entity).__initialized ? 'loaded' : 'reference'}`,
    })
  }
  t.em.getEventManager().registerSubscriber({
    getSubscribedEntities: () => [Category, Animal, Dog, Cat, Author],
    onInit: record('onInit'),
    onLoad: record('onLoad'),
  })
})
afterAll(() => t?.close())

const strategies = ['keyset', 'cursor'] as const

/** A run's entities, its events, and labels for objects: `row N` is the yielded entity of id N; any other object is `other K`, numbered as met. */
interface Run<T extends object> {
  readonly yielded: T[]
  readonly events: string[]
  label(object: object): string
}

async function run<T extends object>(load: () => Promise<T[]>): Promise<Run<T>> {
  events.length = 0
  const yielded = await load()
  const others = new Map<object, number>()
  const label = (object: object) => {
    const row = yielded.indexOf(object as T)
    if (row >= 0) return `row ${(object as { id: number }).id}`
    if (!others.has(object)) others.set(object, others.size + 1)
    return `other ${others.get(object)}`
  }
  const recorded = events
    .splice(0)
    .map(({ event, entity, description }) => `${event} ${description} (${label(entity)})`)
  return { yielded, events: recorded, label }
}

const viaFind = <T extends object>(entityName: new () => T, options: object = {}, where: object = {}) =>
  run(
    () =>
      t.em.fork().find(entityName as never, where as never, { orderBy: { id: 'asc' }, ...options } as never) as Promise<
        T[]
      >,
  )

function viaAiterator<T extends object>(entityName: new () => T, options: object): Promise<Run<T>> {
  return run(async () => {
    const yielded: T[] = []
    for await (const entity of aiterator(t.em, entityName as never, options as never)) yielded.push(entity as T)
    return yielded
  })
}

/** Each yielded entity's to-one relation: the object it points to (by label), its class, whether it is initialized. */
function relations<T extends object>(r: Run<T>, property: string) {
  return r.yielded.map((entity) => {
    const target = (entity as Record<string, object | null>)[property]
    return target == null
      ? `${(entity as { id: number }).id} → null`
      : `${(entity as { id: number }).id} → ${target.constructor.name}#${(target as { id: number }).id} ${helper(target).__initialized ? 'loaded' : 'reference'} (${r.label(target)})`
  })
}

describe('within one chunk, everything is as em.find', () => {
  for (const strategy of strategies) {
    it(`strategy '${strategy}': the same objects behind relations, the same events, classes, snapshots and toObject()`, async () => {
      const cases: [new () => object, string][] = [
        [Category, 'parent'],
        [Animal, 'mother'],
      ]
      for (const [entityName, property] of cases) {
        const expected = await viaFind(entityName)
        const actual = await viaAiterator(entityName, { strategy, chunkSize: 100 })
        expect(relations(actual, property)).toEqual(relations(expected, property))
        expect(actual.events).toEqual(expected.events)
        expect(actual.yielded.map(describeEntity)).toEqual(expected.yielded.map(describeEntity))
      }
    })
  }
})

describe('across chunks', () => {
  for (const strategy of strategies) {
    describe(`strategy '${strategy}'`, () => {
      it("a relation to a row of another chunk is an uninitialized reference of its own chunk's fork, not the yielded entity; within a chunk it is the yielded entity", async () => {
        const expected = await viaFind(Category)
        const actual = await viaAiterator(Category, { strategy, chunkSize: 3 })
        // em.find: every parent is the yielded, loaded entity
        expect(relations(expected, 'parent')).toEqual([
          '1 → Category#4 loaded (row 4)',
          '2 → Category#3 loaded (row 3)',
          '3 → null',
          '4 → null',
          '5 → Category#1 loaded (row 1)',
          '6 → Category#5 loaded (row 5)',
          '7 → null',
          '8 → null',
        ])
        // chunks [1 2 3] [4 5 6] [7 8]: 1's parent (row 4, later chunk) and 5's parent (row 1, earlier chunk) are references
        expect(relations(actual, 'parent')).toEqual([
          '1 → Category#4 reference (other 1)',
          '2 → Category#3 loaded (row 3)',
          '3 → null',
          '4 → null',
          '5 → Category#1 reference (other 2)',
          '6 → Category#5 loaded (row 5)',
          '7 → null',
          '8 → null',
        ])
        const [one, , , , five] = actual.yielded as Category[]
        expect(helper(one!.parent!).__em).toBe(entityManagerOf(one!))
        expect(helper(five!.parent!).__em).toBe(entityManagerOf(five!))
        expect(entityManagerOf(one!)).not.toBe(entityManagerOf(five!))
        // a reference holds its key only
        expect(one!.parent!.id).toBe(4)
        expect(one!.parent!.name).toBeUndefined()
        // the yielded entities themselves are em.find's: values, toObject() (a relation serializes as its key), snapshots
        expect(actual.yielded.map(describeEntity)).toEqual(expected.yielded.map(describeEntity))
      })

      it('onInit fires once per object: a row loaded in one chunk and met as a reference in a later one fires it again (for the reference); met as a reference first, its two events are on two objects', async () => {
        const expected = await viaFind(Category)
        const actual = await viaAiterator(Category, { strategy, chunkSize: 3 })
        // em.find: row 4 is met as a reference, then loaded into that same object (onInit again);
        // row 1 is loaded before row 5 refers to it, so no reference is made
        expect(expected.events).toEqual([
          'onInit Category#4 reference (row 4)',
          'onInit Category#1 loaded (row 1)',
          'onInit Category#3 reference (row 3)',
          'onInit Category#2 loaded (row 2)',
          'onInit Category#3 loaded (row 3)',
          'onInit Category#4 loaded (row 4)',
          'onInit Category#5 loaded (row 5)',
          'onInit Category#6 loaded (row 6)',
          'onInit Category#7 loaded (row 7)',
          'onInit Category#8 loaded (row 8)',
          ...[1, 2, 3, 4, 5, 6, 7, 8].map((id) => `onLoad Category#${id} loaded (row ${id})`),
        ])
        expect(actual.events).toEqual([
          'onInit Category#4 reference (other 1)', // chunk 1: stays a reference
          'onInit Category#1 loaded (row 1)',
          'onInit Category#3 reference (row 3)', // as em.find: same chunk
          'onInit Category#2 loaded (row 2)',
          'onInit Category#3 loaded (row 3)',
          ...[1, 2, 3].map((id) => `onLoad Category#${id} loaded (row ${id})`),
          'onInit Category#4 loaded (row 4)', // chunk 2: a new object
          'onInit Category#1 reference (other 2)', // row 1 again, as chunk 2's reference: em.find fires nothing here
          'onInit Category#5 loaded (row 5)',
          'onInit Category#6 loaded (row 6)',
          ...[4, 5, 6].map((id) => `onLoad Category#${id} loaded (row ${id})`),
          'onInit Category#7 loaded (row 7)',
          'onInit Category#8 loaded (row 8)',
          ...[7, 8].map((id) => `onLoad Category#${id} loaded (row ${id})`),
        ])
      })

      it('single-table inheritance: a reference to a row of another chunk keeps the root class; em.find turns it into the subclass when it loads the row', async () => {
        const expected = await viaFind(Animal)
        const actual = await viaAiterator(Animal, { strategy, chunkSize: 3 })
        expect(relations(expected, 'mother')).toEqual([
          '1 → Cat#4 loaded (row 4)',
          '2 → Cat#3 loaded (row 3)',
          '3 → null',
          '4 → null',
          '5 → Dog#1 loaded (row 1)',
          '6 → null',
        ])
        expect(relations(actual, 'mother')).toEqual([
          '1 → Animal#4 reference (other 1)',
          '2 → Cat#3 loaded (row 3)',
          '3 → null',
          '4 → null',
          '5 → Animal#1 reference (other 2)',
          '6 → null',
        ])
        const mother = (actual.yielded[0] as Animal).mother!
        expect(mother).not.toBeInstanceOf(Cat)
        expect(Object.getPrototypeOf(mother)).toBe(Animal.prototype)
        // loading it in its fork makes it the subclass, as em.find does
        await wrap(mother).init()
        expect(mother).toBeInstanceOf(Cat)
        expect(mother.name).toBe('c4')
        // em.find: the reference made for row 4 (an Animal) is the object later loaded as a Cat
        expect(expected.events).toEqual([
          'onInit Animal#4 reference (row 4)',
          'onInit Dog#1 loaded (row 1)',
          'onInit Animal#3 reference (row 3)',
          'onInit Dog#2 loaded (row 2)',
          'onInit Cat#3 loaded (row 3)',
          'onInit Cat#4 loaded (row 4)',
          'onInit Dog#5 loaded (row 5)',
          'onInit Cat#6 loaded (row 6)',
          ...['Dog#1', 'Dog#2', 'Cat#3', 'Cat#4', 'Dog#5', 'Cat#6'].map(
            (entity) => `onLoad ${entity} loaded (row ${entity.at(-1)})`,
          ),
        ])
        expect(actual.events).toEqual([
          'onInit Animal#4 reference (other 1)',
          'onInit Dog#1 loaded (row 1)',
          'onInit Animal#3 reference (row 3)',
          'onInit Dog#2 loaded (row 2)',
          'onInit Cat#3 loaded (row 3)',
          ...['Dog#1', 'Dog#2', 'Cat#3'].map((entity) => `onLoad ${entity} loaded (row ${entity.at(-1)})`),
          'onInit Cat#4 loaded (row 4)',
          'onInit Animal#1 reference (other 2)',
          'onInit Dog#5 loaded (row 5)',
          'onInit Cat#6 loaded (row 6)',
          ...['Cat#4', 'Dog#5', 'Cat#6'].map((entity) => `onLoad ${entity} loaded (row ${entity.at(-1)})`),
        ])
      })

      it("single-table inheritance: a row em.find first met as a reference has a merged snapshot (its own class's columns); loaded in a later chunk it is created fresh (every column of the table); the same edits give the same change sets", async () => {
        const expected = await viaFind(Animal)
        const actual = await viaAiterator(Animal, { strategy, chunkSize: 3 })
        const snapshot = (r: Run<Animal>, id: number) => {
          const wrapped = helper(r.yielded.find((animal) => animal.id === id)!)
          return { snapshot: wrapped.__originalEntityData, loadedProperties: [...wrapped.__loadedProperties] }
        }
        const merged = {
          snapshot: { id: 4, name: 'c4', mother: null, lives: null, type: 'cat' },
          loadedProperties: ['id', 'name', 'mother', 'lives', 'type'],
        }
        const fresh = {
          snapshot: { id: 4, type: 'cat', name: 'c4', mother: null, barks: null, lives: null },
          loadedProperties: ['id', 'type', 'name', 'mother', 'barks', 'lives'],
        }
        expect(snapshot(expected, 4)).toStrictEqual(merged)
        expect(snapshot(actual, 4)).toStrictEqual(fresh)
        // cat 3, met as a reference in its own chunk, is merged under both
        expect(snapshot(actual, 3)).toStrictEqual(snapshot(expected, 3))
        // merged, the subclass's own property was hydrated while the object was still an Animal: a plain
        // property, not the accessor MikroORM's prototype setter defines
        const lives = (animal: Animal) =>
          describeEntity(animal).ownProperties.find((property) => property.startsWith('lives:'))
        expect(lives(expected.yielded[3]!)).toBe(
          'lives: value null {"writable":true,"enumerable":true,"configurable":true}',
        )
        expect(lives(actual.yielded[3]!)).toBe('lives: accessor get set {"enumerable":true,"configurable":true}')
        // the rest of the entity is em.find's: class, values, toObject(), flags; row 4's snapshot apart, all snapshots
        const rest = (animal: Animal) => ({
          ...describeEntity(animal),
          ownProperties: animal.id === 4 ? undefined : describeEntity(animal).ownProperties,
          ...(animal.id === 4 ? { snapshot: undefined, loadedProperties: undefined } : {}),
        })
        expect(actual.yielded.map(rest)).toEqual(expected.yielded.map(rest))

        const changeSets = (cat: Cat) => {
          const uow = (helper(cat).__em as EntityManager).getUnitOfWork()
          uow.computeChangeSets()
          const before = uow.getChangeSets().map((c) => c.payload)
          cat.name = 'renamed'
          cat.lives = 9
          uow.computeChangeSets()
          return {
            before,
            after: uow.getChangeSets().map((c) => ({ entity: c.entity.constructor.name, payload: c.payload })),
          }
        }
        const edited = changeSets(actual.yielded[3] as Cat)
        expect(edited).toEqual(changeSets(expected.yielded[3] as Cat))
        expect(edited).toEqual({ before: [], after: [{ entity: 'Cat', payload: { name: 'renamed', lives: 9 } }] })
      })

      it('a populated relation is loaded once per chunk: one object per chunk, with its own snapshot and its own onInit and onLoad', async () => {
        const where = { author: 1 }
        const expected = await viaFind(Book, { populate: ['author'] }, where)
        const actual = await viaAiterator(Book, { where, populate: ['author'], strategy, chunkSize: 2, prefetch: 0 })
        expect(expected.yielded.length).toBeGreaterThan(4)
        const authors = (r: Run<Book>) => r.yielded.map((book) => book.author)
        expect(new Set(authors(expected)).size).toBe(1)
        expect(new Set(authors(actual)).size).toBe(Math.ceil(actual.yielded.length / 2))
        // shared within a chunk
        expect(actual.yielded[0]!.author).toBe(actual.yielded[1]!.author)
        expect(expected.events).toEqual(['onInit Author#1 loaded (other 1)', 'onLoad Author#1 loaded (other 1)'])
        expect(actual.events).toEqual(
          authors(actual)
            .filter((_, i) => i % 2 === 0)
            .flatMap((_, chunk) => [
              `onInit Author#1 loaded (other ${chunk + 1})`,
              `onLoad Author#1 loaded (other ${chunk + 1})`,
            ]),
        )
        // each copy is em.find's author (values, snapshot, loaded properties)
        for (const author of authors(actual))
          expect(describeEntity(author!)).toEqual(describeEntity(expected.yielded[0]!.author!))
      })

      it("an edit through one chunk's copy of a populated entity is not seen by another chunk's copy; once flushed, chunks read afterwards see it", async () => {
        const where = { author: 2 }
        const original = (await t.em.fork().findOneOrFail(Author, 2)).name
        const seen: string[] = []
        try {
          let chunk = 0
          // prefetch 0: each chunk is read only when the loop asks for it, so after the previous flush
          for await (const books of aiterator(t.em, Book, {
            where,
            populate: ['author'],
            strategy,
            chunkSize: 2,
            batchYieldSize: 2,
            prefetch: 0,
          })) {
            chunk++
            seen.push(books[0]!.author.name)
            if (chunk === 1) books[0]!.author.name = 'edited, not flushed'
            if (chunk === 2) {
              books[0]!.author.name = 'edited and flushed'
              await flushBatch(books)
            }
          }
          expect(seen.length).toBeGreaterThan(3)
          // keyset: chunk 3's query runs after the flush. cursor: every chunk reads the snapshot the run started in
          expect(seen.slice(0, 4)).toEqual([
            original,
            original,
            strategy === 'keyset' ? 'edited and flushed' : original,
            strategy === 'keyset' ? 'edited and flushed' : original,
          ])
          expect((await t.em.fork().findOneOrFail(Author, 2)).name).toBe('edited and flushed')
        } finally {
          await t.em.fork().nativeUpdate(Author, 2, { name: original })
        }
      })

      it("a populated to-many collection holds its chunk's own objects: the chunk's roots, and copies of rows yielded in other chunks", async () => {
        const where = { author: 1 }
        const expected = await viaFind(Book, { populate: ['author.books'] }, where)
        const actual = await viaAiterator(Book, { where, populate: ['author.books'], strategy, chunkSize: 2 })
        const collection = (r: Run<Book>, book: Book) => book.author.books.getItems().map((item) => r.label(item))
        const rows = expected.yielded.map((book) => `row ${book.id}`)
        for (const book of expected.yielded) expect(collection(expected, book)).toEqual(rows)
        for (const [i, book] of actual.yielded.entries()) {
          const items = collection(actual, book)
          const own = actual.yielded.slice(i - (i % 2), i - (i % 2) + 2).map((b) => `row ${b.id}`)
          // complete, in the same order, and its own chunk's roots are the yielded objects
          expect(book.author.books.getItems().map((item) => item.id)).toEqual(expected.yielded.map((b) => b.id))
          expect(items.filter((item) => item.startsWith('row'))).toEqual(own)
        }
        expect(actual.yielded.map((book) => wrap(book).toObject())).toEqual(
          expected.yielded.map((book) => wrap(book).toObject()),
        )
      })
    })
  }
})
