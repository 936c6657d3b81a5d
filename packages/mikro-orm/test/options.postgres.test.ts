import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { EntityManager } from '@mikro-orm/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { aiterator, installAiterator, KeysetOrderingError } from '../src/index.js'
import { Book, Tag } from './entities.js'
import { collect, openOrm, type TestOrm } from './support.js'

const db = useTestDatabase('postgres', { seed: true })
let t: TestOrm
beforeAll(() => {
  t = openOrm('postgres', db.url)
})
afterAll(() => t?.close())

describe('invalid options throw at the call, before any query, naming the option', () => {
  const bad: [string, object, ErrorConstructor, RegExp][] = [
    ['batchYieldSize 0', { batchYieldSize: 0 }, RangeError, /batchYieldSize.*received 0/],
    ['chunkSize negative', { chunkSize: -5 }, RangeError, /chunkSize.*received -5/],
    ['chunkSize as a string', { chunkSize: '100' }, TypeError, /chunkSize.*"100"/],
    ['prefetch NaN', { prefetch: Number.NaN }, RangeError, /prefetch.*NaN/],
    ['limit float', { limit: 1.5 }, RangeError, /limit.*1\.5/],
    ['offset negative', { offset: -1 }, RangeError, /offset.*received -1/],
    [
      'unknown strategy',
      { strategy: 'fast' },
      RangeError,
      /strategy must be one of 'auto', 'keyset', 'cursor'; received "fast"/,
    ],
    ['a load strategy passed as strategy', { strategy: 'joined' }, RangeError, /strategy.*"joined".*loadStrategy/],
    ['unknown loadStrategy', { loadStrategy: 'lazy' }, RangeError, /loadStrategy.*"lazy"/],
    ['after not a string', { after: 42 }, TypeError, /after must be a resume token string.*42/],
    ['a typo in an option name', { batchSize: 500 }, TypeError, /unknown option "batchSize"/],
    [
      'where neither a filter nor a primary key',
      { where: true },
      TypeError,
      /where must be a filter object.*received true/,
    ],
    ['populate not an array', { populate: 'author' }, TypeError, /populate must be an array.*"author"/],
    [
      'orderBy on an unknown property',
      { orderBy: { rank: 'asc' } },
      TypeError,
      /orderBy: "rank" is not a property of Book/,
    ],
    [
      'orderBy with a bad direction',
      { orderBy: { rating: 'up' } },
      RangeError,
      /orderBy\.rating must be one of 'asc', 'desc'.*received "up"/,
    ],
    ['orderBy not an object', { orderBy: 'rating' }, TypeError, /orderBy must be an object.*"rating"/],
    ['signal not an AbortSignal', { signal: {} }, TypeError, /signal/],
    ['onProgress not a function', { onProgress: 'log' }, TypeError, /onProgress/],
  ]
  for (const [name, options, ErrorType, message] of bad) {
    it(`${name}: ${ErrorType.name} ${message}`, () => {
      const before = t.queries.length
      expect(() => t.em.aiterator(Book, options as never)).toThrow(ErrorType)
      expect(() => t.em.aiterator(Book, options as never)).toThrow(message)
      expect(t.queries.length).toBe(before)
    })
  }

  it('an entity the EntityManager does not know', () => {
    class NotAnEntity {}
    expect(() => t.em.aiterator(NotAnEntity)).toThrow(/NotAnEntity.*is not an entity known to this EntityManager/)
  })

  it("strategy 'keyset' with an ordering keyset cannot follow: KeysetOrderingError saying why and what to change", () => {
    const call = () => t.em.aiterator(Book, { strategy: 'keyset', orderBy: { author: { name: 'asc' } } })
    expect(call).toThrow(KeysetOrderingError)
    expect(call).toThrow(
      /orders by properties of the relation "author".*Order by scalar properties of Book.*strategy: 'cursor'/,
    )
  })

  it("strategy 'auto' with such an ordering and a resume token: KeysetOrderingError (cursor cannot resume)", () => {
    expect(() => t.em.aiterator(Book, { orderBy: { author: { name: 'asc' } }, after: 'AQ' })).toThrow(
      KeysetOrderingError,
    )
  })
})

describe('installing and calling', () => {
  it('importing the package installs em.aiterator once; installAiterator() again is a no-op', () => {
    const method = (EntityManager.prototype as unknown as { aiterator: unknown }).aiterator
    expect(typeof method).toBe('function')
    installAiterator()
    expect((EntityManager.prototype as unknown as { aiterator: unknown }).aiterator).toBe(method)
    expect(Object.keys(EntityManager.prototype)).not.toContain('aiterator') // not enumerable
  })

  it('aiterator(em, Entity, options) works the same as the method', async () => {
    const viaFunction = await collect(aiterator(t.em, Tag, { chunkSize: 7 }))
    const viaMethod = await collect(t.em.aiterator(Tag, { chunkSize: 7 }))
    expect(viaFunction.map((tag) => tag.id)).toEqual(viaMethod.map((tag) => tag.id))
    expect(viaFunction).toHaveLength(db.dataset.tags.length)
  })

  it('works on the global orm.em with the default allowGlobalContext: false (each chunk uses its own fork)', async () => {
    const strict = openOrm('postgres', db.url, { allowGlobalContext: false })
    try {
      await expect(
        strict.em
          .fork()
          .find(Tag, {})
          .then(() => strict.em.find(Tag, {})),
      ).rejects.toThrow(/global EntityManager/)
      const tags = await collect(strict.em.aiterator(Tag, { chunkSize: 8 }))
      expect(tags).toHaveLength(db.dataset.tags.length)
    } finally {
      await strict.close()
    }
  })

  it('where may be a primary key value or a list of them, as in em.find', async () => {
    expect((await collect(t.em.aiterator(Book, { where: 7 }))).map((b) => b.id)).toEqual([7])
    expect((await collect(t.em.aiterator(Book, { where: [9, 3, 5], chunkSize: 2 }))).map((b) => b.id)).toEqual([
      3, 5, 9,
    ])
  })

  it('aiterator() checks its em argument', () => {
    expect(() => aiterator({} as never, Book)).toThrow(/em must be a MikroORM EntityManager/)
  })
})
