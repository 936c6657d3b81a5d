/**
 * `repo.aiterator(findOptions, …)`, `manager.aiterator(Entity, findOptions, …)` and `aiteratorFind(repo,
 * findOptions, …)` against `repo.find(findOptions)` on the same database: for each find-options shape
 * (relations to-one and to-many, order with a relation's order after the key, where arrays, where on a
 * relation, select, skip/take, withDeleted, eager relations, relationLoadStrategy 'query', string keys,
 * an order keyset cannot follow), for each strategy the dialect offers and chunk sizes 1, 2 and 3, the
 * concatenated batches are deep-equal (classes included) to find's result, each entity once, batches
 * full except the last. The three forms take turns over the chunk sizes, so each form runs each shape.
 */
import { withConnection, type Dialect } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import {
  type DataSource,
  type EntityTarget,
  type FindManyOptions,
  In,
  LessThan,
  LessThanOrEqual,
  Like,
  MoreThan,
  type ObjectLiteral,
} from 'typeorm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { aiteratorFind, KeysetOrderingError, type Strategy } from '../../src/index.js'
import { collect, expectBatches } from './collect.js'
import { openDataSource, QueryCounter } from './data-source.js'
import { Author, Book, Country, EagerBook, Note, Tag } from './entities.js'

interface Case {
  readonly name: string
  readonly entity: EntityTarget<ObjectLiteral>
  readonly options: FindManyOptions<any>
  /** False when keyset cannot follow `order` ('auto' takes the cursor on PostgreSQL, throws on MariaDB). */
  readonly keysetable?: boolean
  /** Puts what find leaves unordered into one order, on both sides (relations loaded by a separate query). */
  readonly normalize?: (entities: ObjectLiteral[]) => void
}

const tagsById = (books: ObjectLiteral[]): void => {
  for (const book of books) (book as Book).tags.sort((a, b) => a.id - b.id)
}
const booksById = (authors: ObjectLiteral[]): void => {
  for (const author of authors) (author as Author).books.sort((a, b) => a.id - b.id)
}

const cases: readonly Case[] = [
  {
    name: 'to-one relation, ordered by a nullable column',
    entity: Book,
    options: { relations: { author: true }, order: { publishedAt: 'DESC', id: 'DESC' } },
  },
  {
    name: 'to-many relation, its rows ordered after the key (order: { …, tags: { name } })',
    entity: Book,
    options: { relations: { tags: true }, order: { rating: 'ASC', id: 'ASC', tags: { name: 'ASC' } } },
  },
  {
    name: 'where array (OR of conditions)',
    entity: Book,
    options: { where: [{ rating: 5 }, { rating: 1, title: Like('%e%') }], order: { title: 'ASC', id: 'ASC' } },
  },
  {
    name: 'where on a relation, to-one and to-many relations',
    entity: Book,
    options: {
      where: { author: { id: LessThanOrEqual(5) } },
      relations: { author: true, tags: true },
      order: { id: 'DESC', tags: { id: 'ASC' } },
    },
  },
  {
    name: 'select some columns (the sort column among them)',
    entity: Book,
    options: { select: { id: true, title: true, rating: true }, order: { rating: 'DESC', id: 'ASC' } },
  },
  {
    name: 'select without the sort column',
    entity: Book,
    options: { select: { id: true, title: true }, order: { rating: 'DESC', id: 'DESC' } },
  },
  {
    name: "skip and take with a to-many relation (they count entities; the relation's rows compared sorted by id)",
    entity: Author,
    options: { relations: { books: true }, order: { id: 'ASC' }, skip: 3, take: 7 },
    normalize: booksById,
  },
  { name: 'soft-deleted rows left out by default', entity: Note, options: { order: { id: 'ASC' } } },
  {
    name: 'withDeleted: true, ordered by the delete date',
    entity: Note,
    options: { withDeleted: true, order: { deletedAt: 'DESC', id: 'ASC' } },
  },
  {
    name: 'eager relations (loadEagerRelations by default)',
    entity: EagerBook,
    options: { where: { id: LessThanOrEqual(30) }, order: { id: 'ASC', tags: { id: 'ASC' } } },
  },
  {
    name: "relationLoadStrategy 'query' (the relation's own query has no order: tags compared sorted by id)",
    entity: Book,
    options: {
      relations: { tags: true },
      relationLoadStrategy: 'query',
      where: { id: In([3, 5, 8, 13, 21, 34, 55]) },
      order: { id: 'DESC' },
    },
    normalize: tagsById,
  },
  {
    name: 'string primary key, bigint order',
    entity: Country,
    options: { where: { population: MoreThan('1000000') }, order: { population: 'DESC', code: 'ASC' } },
  },
  {
    name: 'ordered by a relation column (keyset cannot)',
    entity: Book,
    options: {
      relations: { author: true },
      where: { rating: MoreThan(2) },
      order: { author: { createdAt: 'ASC' }, id: 'ASC' },
    },
    keysetable: false,
  },
]

const forms = ['repo.aiterator', 'manager.aiterator', 'aiteratorFind'] as const
type Form = (typeof forms)[number]

/** Streams `options` through one of the three forms. */
function iterate(
  ds: DataSource,
  form: Form,
  entity: EntityTarget<ObjectLiteral>,
  findOptions: FindManyOptions<any> | undefined,
  options: { batchYieldSize: number; chunkSize: number; strategy: Strategy },
) {
  if (form === 'repo.aiterator') return ds.getRepository(entity).aiterator(findOptions, options)
  if (form === 'manager.aiterator') return ds.manager.aiterator(entity, findOptions, options)
  return aiteratorFind(ds.getRepository(entity), findOptions, options)
}

const idOf = (entity: ObjectLiteral): unknown => entity.id ?? entity.code

export function defineFindOptionsSuite(dialect: Dialect): void {
  const db = useTestDatabase(dialect, {
    seed: { counts: { authors: 12, books: 60, tags: 10, orderLines: 0, devices: 0, countries: 40 } },
  })
  let ds: DataSource
  let counter: QueryCounter
  beforeAll(async () => {
    await withConnection(db.url, async (c) => {
      const serial = dialect === 'postgres' ? 'serial' : 'int AUTO_INCREMENT'
      await c.query(
        `CREATE TABLE notes (id ${serial} PRIMARY KEY, body varchar(100) NOT NULL, deleted_at timestamp NULL)`,
      )
      for (let n = 1; n <= 40; n++) {
        const deleted = n % 3 === 0 ? `'2024-01-0${1 + (n % 5)} 10:00:00'` : 'NULL'
        await c.query(`INSERT INTO notes (body, deleted_at) VALUES ('note ${n}', ${deleted})`)
      }
    })
    counter = new QueryCounter()
    ds = await openDataSource(dialect, db.url, { logger: counter })
  })
  afterAll(async () => {
    await ds?.destroy()
  })

  const strategies: readonly Strategy[] = dialect === 'postgres' ? ['keyset', 'cursor'] : ['keyset']
  for (const c of cases) {
    describe(c.name, () => {
      for (const strategy of strategies) {
        if (c.keysetable === false && strategy === 'keyset') {
          it("strategy 'keyset' refuses the order with a KeysetOrderingError, before any query", () => {
            const before = counter.queries.length
            for (const form of forms) {
              expect(() =>
                iterate(ds, form, c.entity, c.options, { batchYieldSize: 2, chunkSize: 2, strategy: 'keyset' }),
              ).toThrow(KeysetOrderingError)
            }
            expect(counter.queries.length).toBe(before)
          })
          continue
        }
        ;[1, 2, 3].forEach((chunkSize, i) => {
          const form = forms[i]!
          it(`${form}, strategy '${strategy}', chunkSize ${chunkSize}: batches concatenate to repo.find()'s result`, async () => {
            const expected = await ds.getRepository(c.entity).find(c.options)
            expect(expected.length).toBeGreaterThan(chunkSize) // more than one chunk, else the case proves little
            const batchYieldSize = chunkSize + 1
            const batches = (await collect(
              iterate(ds, form, c.entity, c.options, { batchYieldSize, chunkSize, strategy }),
            )) as ObjectLiteral[][]
            c.normalize?.(expected)
            c.normalize?.(batches.flat())
            expectBatches(batches, expected, batchYieldSize, idOf)
          })
        })
      }
      if (c.keysetable === false && dialect !== 'postgres') {
        it("strategy 'auto' has nothing to fall back to on MariaDB: KeysetOrderingError", () => {
          expect(() => ds.getRepository(c.entity).aiterator(c.options, 5)).toThrow(KeysetOrderingError)
        })
      }
    })
  }

  it('without an order, every entity once, in primary key order (find gives them in the order the database does)', async () => {
    const expected = (await ds.getRepository(Tag).find()).sort((a, b) => a.id - b.id)
    for (const form of forms) {
      const batches = await collect(
        iterate(ds, form, Tag, undefined, { batchYieldSize: 3, chunkSize: 2, strategy: 'keyset' }),
      )
      expectBatches(batches as Tag[][], expected, 3, idOf)
    }
  })

  it("one entity at a time without batchYieldSize, and 'limit' stops early", async () => {
    const options: FindManyOptions<Book> = { where: { rating: MoreThan(2) }, order: { id: 'ASC' } }
    const expected = await ds.getRepository(Book).find(options)
    const one = await collect(ds.getRepository(Book).aiterator(options, { chunkSize: 4 }))
    expect(one).toStrictEqual(expected)
    const limited = await collect(ds.manager.aiterator(Book, options, 4, { chunkSize: 3, limit: 10 }))
    expect(limited.flat()).toStrictEqual(expected.slice(0, 10))
  })

  it("a transaction's manager reads the transaction's uncommitted rows, and the repository it hands out too", async () => {
    await ds
      .transaction(async (manager) => {
        await manager.query("UPDATE tags SET name = CONCAT('uncommitted ', name) WHERE id <= 4")
        const expected = await manager.find(Tag, { order: { id: 'ASC' } })
        expect(expected.filter((t) => t.name.startsWith('uncommitted '))).toHaveLength(4)
        expect(
          (await collect(manager.aiterator(Tag, { order: { id: 'ASC' } }, 3, { chunkSize: 2 }))).flat(),
        ).toStrictEqual(expected)
        expect(
          (await collect(manager.getRepository(Tag).aiterator({ order: { id: 'ASC' } }, 3, { chunkSize: 2 }))).flat(),
        ).toStrictEqual(expected)
        throw new Error('roll back')
      })
      .catch((error: Error) => expect(error.message).toBe('roll back'))
    expect(await ds.getRepository(Tag).countBy({ name: LessThan('uncommitted') })).toBe(
      await ds.getRepository(Tag).count(),
    )
  })

  it("skip/take with an order on a to-many relation's column: entities are counted (TypeORM's find pages over joined rows there)", async () => {
    const repo = ds.getRepository(Author)
    const paged: FindManyOptions<Author> = {
      relations: { books: true },
      order: { id: 'ASC', books: { id: 'ASC' } },
      skip: 3,
      take: 7,
    }
    // find's DISTINCT page is taken over (author, book) pairs, so it holds fewer than 7 authors, from the first ones
    const found = await repo.find(paged)
    expect(found.length).toBeLessThan(7)
    expect(found[0]!.id).toBe(1)
    // aiterator skips 3 authors and takes 7, each with all its books in the asked order: find's result without the paging
    const all = await repo.find({ relations: { books: true }, order: { id: 'ASC', books: { id: 'ASC' } } })
    const batches = await collect(repo.aiterator(paged, { batchYieldSize: 3, chunkSize: 2 }))
    expectBatches(batches, all.slice(3, 10), 3, idOf)
  })

  it('bad input throws a TypeError at the call, before any query', () => {
    const before = counter.queries.length
    const repo = ds.getRepository(Book)
    expect(() => repo.aiterator(500 as never)).toThrow(
      /repo.aiterator\(findOptions, …\): the find options come first, the batch size second; received 500/,
    )
    expect(() => ds.manager.aiterator(Book, 500 as never, 500)).toThrow(
      /manager.aiterator\(Entity, findOptions, …\): the find options come first/,
    )
    expect(() => aiteratorFind(repo, null as never, 5)).toThrow(
      /aiteratorFind\(\): findOptions must be TypeORM find options .* received null/,
    )
    expect(() => aiteratorFind(repo, [] as never, 5)).toThrow(TypeError)
    expect(() => aiteratorFind({} as never, {}, 5)).toThrow(
      /aiteratorFind\(\): the first argument must be a TypeORM Repository/,
    )
    expect(() => repo.aiterator({}, { batchSize: 5 } as never)).toThrow(/unknown option "batchSize"/)
    expect(() => repo.aiterator({}, 0)).toThrow(RangeError)
    expect(counter.queries.length).toBe(before)
  })
}
