/**
 * `qb.aiterator()` against `qb.getResultList()` of the same query builder: for each query shape
 * (joined to-one and to-many relations selected or only filtered on, conditions on joined aliases, raw
 * conditions, partial selects, limit/offset, composite keys, joined columns ordering each entity's rows, an
 * order keyset cannot follow), for each strategy the dialect offers and chunk sizes 1, 2 and 3, the
 * concatenated batches hold the same entities in the same order, each once, with the same data and joined
 * relations (in the same order), in batches full except the last, while the query builder's EntityManager
 * stays empty. The method and `aiteratorQueryBuilder(qb, …)` take turns over the chunk sizes.
 */
import type { Dialect } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { wrap } from '@mikro-orm/core'
import { QueryBuilder, type SqlEntityManager } from '@mikro-orm/sql'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import '../../src/index.js'
import {
  aiteratorQueryBuilder,
  installAiterator,
  KeysetOrderingError,
  StrategyUnavailableError,
} from '../../src/index.js'
import { Author, Book, OrderLine, Tag } from '../entities.js'
import { collect, collectBatches, identityMapSize, openOrm, pkOf, type TestOrm } from '../support.js'

type AnyQb = QueryBuilder<any, any, any, any, any, any, any>

interface Case {
  readonly name: string
  /** The query builder under test (a new one per call). */
  readonly qb: (em: SqlEntityManager) => AnyQb
  /** The reference: `getResultList()` of this query builder (default: the one under test). */
  readonly reference?: (em: SqlEntityManager) => AnyQb
  /** The reference under keyset, which widens a partial select on purpose (it needs the sort property's value). */
  readonly keysetReference?: (em: SqlEntityManager) => AnyQb
  /** False when keyset cannot follow the order ('auto' takes the cursor on PostgreSQL, throws on MariaDB). */
  readonly keysetable?: boolean
  /** Joined collections come in no particular order (no order on their rows): compare them sorted. */
  readonly unorderedCollections?: boolean
}

const cases: readonly Case[] = [
  {
    name: 'select *, ordered by a nullable column',
    qb: (em) =>
      em
        .createQueryBuilder(Book, 'b')
        .select('*')
        .orderBy([{ publishedAt: 'desc' }, { id: 'desc' }]),
  },
  {
    name: 'to-one join selected, condition on the joined alias, non-unique order (the primary key appended)',
    qb: (em) =>
      em
        .createQueryBuilder(Book, 'b')
        .select('*')
        .leftJoinAndSelect('b.author', 'a')
        .where({ 'a.name': { $like: '%a%' } })
        .orderBy({ rating: 'asc' }),
    reference: (em) =>
      em
        .createQueryBuilder(Book, 'b')
        .select('*')
        .leftJoinAndSelect('b.author', 'a')
        .where({ 'a.name': { $like: '%a%' } })
        .orderBy([{ rating: 'asc' }, { id: 'asc' }]),
  },
  {
    name: "to-many join selected, its rows ordered after the primary key ({ 't.name': 'asc' })",
    qb: (em) =>
      em
        .createQueryBuilder(Book, 'b')
        .select('*')
        .leftJoinAndSelect('b.tags', 't')
        .orderBy([{ rating: 'desc' }, { id: 'desc' }, { 't.name': 'asc' }]),
  },
  {
    name: 'to-many join only filtered on (rows multiplied by the join)',
    qb: (em) =>
      em
        .createQueryBuilder(Book, 'b')
        .select('*')
        .leftJoin('b.tags', 't')
        .where({ 't.name': { $like: '%i%' } })
        .orderBy([{ title: 'asc' }, { id: 'asc' }]),
  },
  {
    name: 'one-to-many join selected, condition on the joined rows (they filter the collection too)',
    qb: (em) =>
      em
        .createQueryBuilder(Author, 'a')
        .select('*')
        .leftJoinAndSelect('a.books', 'b')
        .where({ 'b.rating': { $gte: 3 } })
        .orderBy([{ id: 'asc' }, { 'b.id': 'asc' }]),
  },
  {
    name: 'raw condition and orWhere',
    qb: (em) =>
      em
        .createQueryBuilder(Book, 'b')
        .select('*')
        .where('b.rating >= ?', [5])
        .orWhere({ price: { $lt: '15' } })
        .orderBy([{ price: 'asc' }, { id: 'asc' }]),
  },
  {
    name: 'partial select without the sort property (aiterator selects it too)',
    qb: (em) =>
      em
        .createQueryBuilder(Book, 'b')
        .select(['id', 'title'])
        .orderBy([{ rating: 'desc' }, { id: 'asc' }]),
    keysetReference: (em) =>
      em
        .createQueryBuilder(Book, 'b')
        .select(['id', 'title', 'rating'])
        .orderBy([{ rating: 'desc' }, { id: 'asc' }]),
  },
  {
    name: 'limit and offset with a to-many join (they count entities)',
    qb: (em) =>
      em
        .createQueryBuilder(Author, 'a')
        .select('*')
        .leftJoinAndSelect('a.books', 'b')
        .orderBy([{ id: 'desc' }, { 'b.id': 'asc' }])
        .limit(7)
        .offset(3),
  },
  {
    name: 'composite primary key, ordered by a non-unique column',
    qb: (em) =>
      em
        .createQueryBuilder(OrderLine, 'o')
        .select('*')
        .where({ lineNo: { $lte: 2 } })
        .orderBy([{ quantity: 'desc' }, { orderId: 'desc' }, { lineNo: 'desc' }]),
  },
  {
    name: 'ordered by a joined column first (keyset cannot)',
    qb: (em) =>
      em
        .createQueryBuilder(Book, 'b')
        .select('*')
        .innerJoinAndSelect('b.author', 'a')
        .where({ rating: { $gte: 3 } })
        .orderBy([{ 'a.name': 'asc' }, { id: 'asc' }]),
    keysetable: false,
  },
]

export function defineQueryBuilderSuite(dialect: Dialect): void {
  const db = useTestDatabase(dialect, {
    seed: { counts: { authors: 12, books: 60, tags: 10, orderLines: 80, devices: 0, countries: 0 } },
  })
  let t: TestOrm
  beforeAll(() => {
    t = openOrm(dialect, db.url)
  })
  afterAll(() => t?.close())
  const em = (): SqlEntityManager => t.em.fork() as SqlEntityManager

  const strategies = dialect === 'postgres' ? (['keyset', 'cursor'] as const) : (['keyset'] as const)
  for (const c of cases) {
    describe(c.name, () => {
      for (const strategy of strategies) {
        if (c.keysetable === false && strategy === 'keyset') {
          it("strategy 'keyset' refuses the order with a KeysetOrderingError naming the joined column, before any query", () => {
            const before = t.queries.length
            expect(() => c.qb(em()).aiterator({ batchYieldSize: 2, strategy: 'keyset' })).toThrow(KeysetOrderingError)
            expect(() => c.qb(em()).aiterator({ batchYieldSize: 2, strategy: 'keyset' })).toThrow(
              /it orders by "a\.name", which is not a root property of Book, before the primary key/,
            )
            expect(t.queries.length).toBe(before)
          })
          continue
        }
        ;[1, 2, 3].forEach((chunkSize, i) => {
          const form = i % 2 === 0 ? 'qb.aiterator' : 'aiteratorQueryBuilder(qb)'
          it(`${form}, strategy '${strategy}', chunkSize ${chunkSize}: batches concatenate to getResultList()'s result`, async () => {
            const expected = await ((strategy === 'keyset' ? c.keysetReference : undefined) ?? c.reference ?? c.qb)(
              em(),
            ).getResultList()
            expect(expected.length).toBeGreaterThan(chunkSize + 1) // several chunks and batches, else the case proves little
            const qbEm = em()
            const qb = c.qb(qbEm)
            const batchYieldSize = chunkSize + 1
            const options = { batchYieldSize, chunkSize, strategy: c.keysetable === false ? 'auto' : strategy } as const
            const batches = await collectBatches(
              (form === 'qb.aiterator' ? qb.aiterator(options) : aiteratorQueryBuilder(qb, options)) as AsyncIterable<
                object[]
              >,
            )
            batches.slice(0, -1).forEach((b) => expect(b).toHaveLength(batchYieldSize))
            expect(batches.at(-1)!.length).toBeGreaterThan(0)
            const actual = batches.flat()
            expect(new Set(actual.map(pkOf)).size).toBe(actual.length)
            expect(actual.map(pkOf)).toEqual(expected.map(pkOf))
            const view = (entity: object) => normalize(wrap(entity).toObject(), c.unorderedCollections === true)
            expect(actual.map(view)).toEqual(expected.map(view))
            expect(actual.every((entity) => entity.constructor === expected[0]!.constructor)).toBe(true)
            expect(identityMapSize(qbEm)).toBe(0) // each chunk loaded into a fork of its own
          })
        })
      }
      if (c.keysetable === false && dialect !== 'postgres') {
        it("strategy 'auto' has no cursor to fall back to on MariaDB: KeysetOrderingError", () => {
          expect(() => c.qb(em()).aiterator(5)).toThrow(KeysetOrderingError)
        })
      }
    })
  }

  it('yields one entity at a time without batchYieldSize; the limit option and limit() cap the run, the smaller wins', async () => {
    const qb = () => em().createQueryBuilder(Tag, 't').select('*').orderBy({ id: 'asc' })
    const all = await qb().getResultList()
    expect((await collect(qb().aiterator({ chunkSize: 3 }))).map(pkOf)).toEqual(all.map(pkOf))
    expect((await collect(qb().aiterator({ chunkSize: 3, limit: 4 }))).map(pkOf)).toEqual(all.slice(0, 4).map(pkOf))
    expect((await collect(qb().limit(5).aiterator({ chunkSize: 2, limit: 8 }))).map(pkOf)).toEqual(
      all.slice(0, 5).map(pkOf),
    )
  })

  it('reads the query builder when called: later changes to it do not reach the run', async () => {
    const qb = em().createQueryBuilder(Book, 'b').select('*').where({ rating: 5 }).orderBy({ id: 'asc' })
    const expected = await qb.clone().getResultList()
    const iterator = qb.aiterator(4, { chunkSize: 3 })
    qb.andWhere({ id: -1 })
    expect((await collectBatches(iterator)).flat().map(pkOf)).toEqual(expected.map(pkOf))
  })

  it('resumes after an onProgress token, from a new query builder', async () => {
    const qb = () =>
      em()
        .createQueryBuilder(Book, 'b')
        .select('*')
        .leftJoinAndSelect('b.tags', 't')
        .orderBy([{ publishedAt: 'asc' }, { id: 'asc' }, { 't.id': 'asc' }])
    const all = (await qb().getResultList()).map(pkOf)
    let token: string | undefined
    let seen: string[] = []
    for await (const batch of qb().aiterator({
      batchYieldSize: 5,
      chunkSize: 3,
      strategy: 'keyset',
      onProgress: (p) => (token = p.cursor),
    })) {
      seen.push(...batch.map(pkOf))
      if (seen.length >= 20) break
    }
    expect(token).toBeDefined()
    seen = [
      ...seen,
      ...(await collectBatches(qb().aiterator({ batchYieldSize: 5, chunkSize: 3, after: token }))).flat().map(pkOf),
    ]
    expect(seen).toEqual(all)
  })

  it("inside em.transactional, a query builder of the transaction's EntityManager reads its uncommitted writes", async () => {
    await t.orm.em
      .fork()
      .transactional(async (trx) => {
        await (trx as SqlEntityManager)
          .getConnection()
          .execute(
            "update tags set name = concat('uncommitted ', name) where id <= 3",
            [],
            'run',
            trx.getTransactionContext(),
          )
        const qb = () => (trx as SqlEntityManager).createQueryBuilder(Tag, 't').select('*').orderBy({ id: 'asc' })
        const expected = (await qb().getResultList()).map((tag) => tag.name)
        expect(expected.filter((name) => name.startsWith('uncommitted '))).toHaveLength(3)
        for (const strategy of dialect === 'postgres' ? (['keyset', 'cursor'] as const) : (['keyset'] as const)) {
          expect(
            (await collectBatches(qb().aiterator({ batchYieldSize: 4, chunkSize: 2, strategy })))
              .flat()
              .map((tag) => tag.name),
          ).toEqual(expected)
        }
        throw new Error('roll back')
      })
      .catch((error: Error) => expect(error.message).toBe('roll back'))
  })

  it("importing the package installs qb.aiterator once, not enumerable; installAiterator() again is a no-op; another library's is refused", () => {
    const prototype = QueryBuilder.prototype as unknown as Record<string, unknown>
    const ours = Object.getOwnPropertyDescriptor(prototype, 'aiterator')!
    expect(typeof ours.value).toBe('function')
    expect(ours.enumerable).toBe(false)
    installAiterator()
    expect(prototype.aiterator).toBe(ours.value)
    const foreign = () => 'foreign'
    Object.defineProperty(prototype, 'aiterator', { value: foreign, configurable: true, writable: true })
    try {
      expect(() => installAiterator()).toThrow(
        /QueryBuilder\.prototype\.aiterator \(@mikro-orm\/(sql|knex)\) is already defined by another library; use aiteratorQueryBuilder\(qb, options\)/,
      )
      expect(prototype.aiterator).toBe(foreign)
    } finally {
      Object.defineProperty(prototype, 'aiterator', ours)
    }
  })

  it('bad input throws at the call, before any query', () => {
    const before = t.queries.length
    const qb = () => em().createQueryBuilder(Book, 'b').select('*')
    expect(() => qb().aiterator(0)).toThrow(RangeError)
    expect(() => qb().aiterator({ where: { rating: 5 } } as never)).toThrow(
      /unknown option "where"; where comes from the query builder itself/,
    )
    expect(() => qb().aiterator({ strategy: 'fast' } as never)).toThrow(
      /strategy must be one of 'auto', 'keyset', 'cursor'/,
    )
    expect(() => qb().aiterator({ after: 42 } as never)).toThrow(/after must be a resume token string/)
    expect(() => aiteratorQueryBuilder({} as never, 5)).toThrow(/the first argument must be a MikroORM QueryBuilder/)
    expect(() => em().createQueryBuilder(Book, 'b').select('rating').groupBy('rating').aiterator(5)).toThrow(
      /uses groupBy\(\), whose rows are not one per entity/,
    )
    expect(() => em().createQueryBuilder(Book, 'b').update({ rating: 1 }).aiterator(5)).toThrow(
      /streams the entities of a select query/,
    )
    if (dialect !== 'postgres') expect(() => qb().aiterator({ strategy: 'cursor' })).toThrow(StrategyUnavailableError)
    expect(t.queries.length).toBe(before)
  })
}

/** An entity's data as compared: dates as ISO text, bigints as text; collections in their order unless told otherwise. */
function normalize(value: unknown, sortCollections: boolean): unknown {
  if (Array.isArray(value)) {
    const items = value.map((item) => normalize(item, sortCollections))
    return sortCollections ? items.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)) : items
  }
  if (value instanceof Date) return value.toISOString()
  if (typeof value === 'bigint') return `${value}n`
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v, sortCollections)]))
  return value
}
