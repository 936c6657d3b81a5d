/**
 * MikroORM's own correctness cases, shared by dialects: for each query shape, the concatenated
 * batches of `em.aiterator` equal `em.find` with the same where/orderBy/populate (the primary key
 * appended to the order, as aiterator does, so ties have one right answer): the same entities, in
 * the same order, each exactly once, with the same populated relations, in batches that are full
 * except the last. The shapes both adapters share are the conformance scenario
 * (@batchyield/test-fixtures/conformance); here are MikroORM's query options (where, populate,
 * load strategy, fields, limit/offset, default orderBy, relation paths) and the cursor strategy
 * over orders that are not total (MikroORM appends the primary key to the cursor's order too).
 */
import type { Dialect } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { type EntityManager, type EntityName, wrap } from '@mikro-orm/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import '../../src/index.js'
import { type AiteratorOptions, KeysetOrderingError } from '../../src/index.js'
import { Author, Book, Country, Device, OrderLine, Tag } from '../entities.js'
import { collectBatches, identityMapSize, openOrm, pkOf, type TestOrm, withTieBreaker } from '../support.js'

interface Case {
  readonly name: string
  readonly entity: EntityName<object>
  readonly options: AiteratorOptions<any, any, any, any> & { batchYieldSize?: number }
  /** Runs only where the keyset strategy can follow the order (else only cursor/auto-cursor). */
  readonly keysetable?: boolean
  /** `fields` for the em.find reference under keyset, which also loads the sort properties. */
  readonly referenceFields?: readonly string[]
  /** The strategies this case runs with (default: every strategy of the dialect). */
  readonly strategies?: readonly ('keyset' | 'cursor')[]
}

const cases: readonly Case[] = [
  // The conformance scenario runs these orderings with keyset (and cursor where the order is total);
  // here the cursor runs them as written: MikroORM appends the primary key to the cursor's order too.
  {
    name: 'non-unique order (rating desc)',
    entity: Book,
    options: { orderBy: { rating: 'desc' }, chunkSize: 23, batchYieldSize: 9 },
    strategies: ['cursor'],
  },
  {
    name: 'nullable order, asc (database NULL placement)',
    entity: Book,
    options: { orderBy: { publishedAt: 'asc' }, chunkSize: 19, batchYieldSize: 19 },
    strategies: ['cursor'],
  },
  {
    name: 'nullable order, desc (database NULL placement)',
    entity: Book,
    options: { orderBy: { publishedAt: 'desc' }, chunkSize: 19, batchYieldSize: 7 },
    strategies: ['cursor'],
  },
  {
    name: "nullable order, 'asc nulls first'",
    entity: Book,
    options: { orderBy: { publishedAt: 'asc nulls first' }, chunkSize: 11, batchYieldSize: 30 },
    strategies: ['cursor'],
  },
  {
    name: "nullable order, 'desc nulls last'",
    entity: Book,
    options: { orderBy: { publishedAt: 'desc nulls last' }, chunkSize: 11, batchYieldSize: 4 },
    strategies: ['cursor'],
  },
  {
    name: 'mixed directions over non-unique and nullable columns',
    entity: Book,
    options: {
      orderBy: [{ rating: 'asc' }, { publishedAt: 'desc' }, { price: 'desc' }],
      chunkSize: 13,
      batchYieldSize: 6,
    },
    strategies: ['cursor'],
  },
  {
    name: 'populate to-one (author)',
    entity: Book,
    options: { orderBy: { title: 'asc' }, populate: ['author'], chunkSize: 29, batchYieldSize: 10 },
    strategies: ['cursor'],
  },
  {
    name: 'composite primary key, ordered by a non-unique column',
    entity: OrderLine,
    options: { orderBy: { quantity: 'desc' }, chunkSize: 21, batchYieldSize: 5 },
    strategies: ['cursor'],
  },
  {
    name: 'composite primary key, ordered by its second part',
    entity: OrderLine,
    options: { orderBy: { lineNo: 'desc' }, chunkSize: 16, batchYieldSize: 16 },
    strategies: ['cursor'],
  },
  {
    name: 'UUID primary key, ordered by a nullable timestamp',
    entity: Device,
    options: { orderBy: { registeredAt: 'desc' }, chunkSize: 15, batchYieldSize: 4 },
    strategies: ['cursor'],
  },
  {
    name: 'string primary key, ordered by bigint',
    entity: Country,
    options: { orderBy: { population: 'desc' }, chunkSize: 9, batchYieldSize: 9 },
    strategies: ['cursor'],
  },
  // MikroORM's own query options
  {
    name: 'populate many-to-many (tags), primary key appended',
    entity: Book,
    options: { orderBy: { rating: 'desc' }, populate: ['tags'], chunkSize: 31, batchYieldSize: 12 },
  },
  {
    name: 'populate one-to-many (author.books), no order',
    entity: Author,
    options: { populate: ['books'], chunkSize: 7, batchYieldSize: 3 },
  },
  {
    name: 'populate to-one and many-to-many with the joined load strategy',
    entity: Book,
    options: {
      orderBy: { publishedAt: 'desc' },
      populate: ['author', 'tags'],
      loadStrategy: 'joined',
      chunkSize: 17,
      batchYieldSize: 8,
    },
  },
  { name: "the entity's default orderBy", entity: Tag, options: { chunkSize: 4, batchYieldSize: 3 } },
  {
    name: "an explicit orderBy, then the entity's default orderBy",
    entity: Tag,
    options: { orderBy: { id: 'desc' }, chunkSize: 4, batchYieldSize: 3 },
  },
  {
    name: '$or condition',
    entity: Book,
    options: {
      where: { $or: [{ rating: 5 }, { price: { $lt: '20' } }] },
      orderBy: { publishedAt: 'asc' },
      chunkSize: 12,
      batchYieldSize: 5,
    },
  },
  {
    name: 'condition on a relation, with populate',
    entity: Book,
    options: {
      where: { author: { name: { $like: 'A%' } } },
      populate: ['author'],
      orderBy: { rating: 'asc' },
      chunkSize: 8,
      batchYieldSize: 3,
    },
  },
  {
    name: 'condition on a to-many relation (rows multiplied by the join)',
    entity: Book,
    options: {
      where: { tags: { id: { $lte: 10 } } },
      orderBy: { rating: 'desc' },
      populate: ['tags'],
      chunkSize: 9,
      batchYieldSize: 4,
    },
  },
  {
    name: 'condition on a to-many relation, nothing populated (rows multiplied by the join)',
    entity: Book,
    options: { where: { tags: { id: { $lte: 10 } } }, orderBy: { rating: 'desc' }, chunkSize: 9, batchYieldSize: 4 },
  },
  {
    name: 'limit and offset',
    entity: Book,
    options: { orderBy: { rating: 'desc' }, limit: 55, offset: 13, chunkSize: 10, batchYieldSize: 7 },
  },
  {
    name: 'limit and offset with a to-many populate',
    entity: Author,
    options: { populate: ['books'], limit: 11, offset: 3, chunkSize: 4, batchYieldSize: 5 },
  },
  {
    name: 'batch size 1, a condition on a relation',
    entity: Book,
    options: { where: { author: { id: { $lte: 4 } } }, chunkSize: 3, batchYieldSize: 1 },
  },
  // aiterator loads the sort property too (it needs its value to seek): em.find with it added is the reference.
  {
    name: 'partial fields without the sort column',
    entity: Book,
    options: { fields: ['title'], orderBy: { rating: 'desc' }, chunkSize: 40, batchYieldSize: 25 },
    referenceFields: ['title', 'rating'],
  },
  {
    name: 'ordering by a relation path (keyset cannot)',
    entity: Book,
    options: { orderBy: { author: { name: 'asc' } }, populate: ['author'], chunkSize: 33, batchYieldSize: 10 },
    keysetable: false,
  },
]

export function defineMikroOrmCorrectnessSuite(dialect: Dialect): void {
  const db = useTestDatabase(dialect, { seed: true })
  let t: TestOrm
  beforeAll(() => {
    t = openOrm(dialect, db.url)
  })
  afterAll(() => t?.close())

  const strategies = dialect === 'postgres' ? (['keyset', 'cursor'] as const) : (['keyset'] as const)
  for (const strategy of strategies) {
    describe(`strategy '${strategy}'`, () => {
      for (const c of cases) {
        if (c.strategies && !c.strategies.includes(strategy)) continue
        if (c.keysetable === false && strategy === 'keyset') {
          // not skipped: keyset must refuse this ordering, at the call, before any query
          it(`${c.name}: strategy 'keyset' refuses it with a KeysetOrderingError naming the cause, before any query`, () => {
            const before = t.queries.length
            expect(() => t.em.aiterator(c.entity, { ...c.options, strategy: 'keyset' } as never)).toThrow(
              KeysetOrderingError,
            )
            expect(() => t.em.aiterator(c.entity, { ...c.options, strategy: 'keyset' } as never)).toThrow(
              /cannot follow this ordering: it orders by properties of the relation/,
            )
            expect(t.queries.length).toBe(before)
          })
          continue
        }
        it(`${c.name}: batches concatenate to em.find's result, each entity once, batches full except the last`, async () => {
          const options = { ...c.options, strategy: c.keysetable === false ? 'auto' : strategy }
          const expected = await reference(
            t.em,
            c.entity,
            c.referenceFields && strategy === 'keyset' ? { ...c.options, fields: c.referenceFields } : c.options,
          )
          const batches = await collectBatches(t.em.aiterator(c.entity, options as never) as AsyncIterable<object[]>)
          const size = c.options.batchYieldSize!
          batches.slice(0, -1).forEach((b) => expect(b).toHaveLength(size))
          if (batches.length > 0) expect(batches.at(-1)!.length).toBeGreaterThan(0)
          const actual = batches.flat()
          expect(new Set(actual.map(pkOf)).size).toBe(actual.length)
          expect(actual.map(pkOf)).toEqual(expected.map(pkOf))
          expect(actual.map(view)).toEqual(expected.map(view))
          expect(identityMapSize(t.em)).toBe(0)
        })
      }
    })
  }
}

/** em.find with the same where/orderBy/populate/limit/offset, the primary key appended to the order (in the last term's direction). */
async function reference(em: EntityManager, entity: EntityName<object>, options: Case['options']): Promise<object[]> {
  const meta = em.getMetadata(entity)
  // em.find sorts by the given orderBy, then the entity's default orderBy
  const order = withTieBreaker(options.orderBy, meta.primaryKeys, meta.orderBy)
  const { where = {}, populate, fields, limit, offset, loadStrategy } = options
  return em.fork().find(entity, where as object, {
    orderBy: order as never,
    populate: populate as never,
    fields: fields as never,
    limit,
    offset,
    strategy: loadStrategy,
  })
}

/** What is compared beyond identity: the entity's data and its populated relations, order-insensitive inside collections. */
function view(entity: object): unknown {
  return normalize(wrap(entity).toObject())
}

function normalize(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(normalize).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1))
  }
  if (value instanceof Date) return value.toISOString()
  if (typeof value === 'bigint') return `${value}n`
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v)]))
  }
  return value
}
