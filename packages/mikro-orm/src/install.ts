import { type AnyEntity, EntityManager, type EntityName, type IDatabaseDriver, type Loaded } from '@mikro-orm/core'
// brings @mikro-orm/knex (MikroORM 6) into the program, which its augmentation below needs; no run-time import
import type {} from '@mikro-orm/knex'
import type { QueryBuilder } from '@mikro-orm/sql'
import { aiterator } from './aiterator.js'
import type { AiteratorOptions } from './options.js'
import { aiteratorQueryBuilder, type QueryBuilderAiteratorOptions } from './query-builder.js'
import { sqlPackageName, sqlQueryBuilderClass } from './sql-package.js'

declare module '@mikro-orm/core' {
  interface EntityManager<Driver extends IDatabaseDriver = IDatabaseDriver> {
    /**
     * Iterates over `Entity` rows in chunks of `chunkSize` (one round trip each), yielding
     * lists of `batchYieldSize` entities, with memory bounded by the chunk. Added to every
     * EntityManager by `import '@batchyield/mikro-orm'`; see `aiterator(em, Entity, options)`.
     *
     * @example
     * ```ts
     * import '@batchyield/mikro-orm'
     *
     * for await (const books of em.aiterator(Book, { populate: ['author'], batchYieldSize: 500 })) {
     *   await sendToApi(books.map((b) => ({ title: b.title, author: b.author.name })))
     * }
     * ```
     */
    aiterator<
      Entity extends object,
      Hint extends string = never,
      Fields extends string = never,
      Excludes extends string = never,
    >(
      entityName: EntityName<Entity>,
      options: AiteratorOptions<NoInfer<Entity>, Hint, Fields, Excludes> & { readonly batchYieldSize: number },
    ): AsyncGenerator<Loaded<Entity, Hint, Fields, Excludes>[], void, undefined>
    aiterator<
      Entity extends object,
      Hint extends string = never,
      Fields extends string = never,
      Excludes extends string = never,
    >(
      entityName: EntityName<Entity>,
      options?: AiteratorOptions<NoInfer<Entity>, Hint, Fields, Excludes> & { readonly batchYieldSize?: undefined },
    ): AsyncGenerator<Loaded<Entity, Hint, Fields, Excludes>, void, undefined>
    aiterator<
      Entity extends object,
      Hint extends string = never,
      Fields extends string = never,
      Excludes extends string = never,
    >(
      entityName: EntityName<Entity>,
      options?: AiteratorOptions<NoInfer<Entity>, Hint, Fields, Excludes>,
    ): AsyncGenerator<
      Loaded<Entity, Hint, Fields, Excludes> | Loaded<Entity, Hint, Fields, Excludes>[],
      void,
      undefined
    >
  }
}

declare module '@mikro-orm/sql' {
  interface QueryBuilder<
    Entity extends object = AnyEntity,
    RootAlias extends string = never,
    Hint extends string = never,
    Context extends object = never,
    RawAliases extends string = never,
    Fields extends string = '*',
    CTEs extends Record<string, object> = {},
  > {
    /**
     * Streams what `qb.getResultList()` returns (the same entities, order, joined relations and fields),
     * in lists of `batchYieldSize`, `chunkSize` rows (default 2000) per round trip, each chunk loaded into
     * a fresh fork. Keyset when the order is on root properties, else a cursor (PostgreSQL). Added by
     * `import '@batchyield/mikro-orm'`; see `aiteratorQueryBuilder(qb, …)`.
     *
     * @example
     * ```ts
     * import '@batchyield/mikro-orm'
     *
     * const qb = em.createQueryBuilder(Book, 'b').select('*').leftJoinAndSelect('b.author', 'a').where({ 'a.name': { $like: 'A%' } }).orderBy({ publishedAt: 'desc' })
     * for await (const books of qb.aiterator(500)) await sendToApi(books) // Loaded<Book, 'author'>[]
     * ```
     */
    aiterator(
      batchYieldSize: number,
      options?: Omit<QueryBuilderAiteratorOptions, 'batchYieldSize'>,
    ): AsyncGenerator<Loaded<Entity, Hint, Fields>[], void, undefined>
    /**
     * Streams what `qb.getResultList()` returns in lists of `options.batchYieldSize`.
     *
     * @example
     * ```ts
     * for await (const books of qb.aiterator({ batchYieldSize: 500, chunkSize: 2000, strategy: 'keyset' })) await index(books)
     * ```
     */
    aiterator(
      options: QueryBuilderAiteratorOptions & { readonly batchYieldSize: number },
    ): AsyncGenerator<Loaded<Entity, Hint, Fields>[], void, undefined>
    /**
     * Streams what `qb.getResultList()` returns, one entity at a time (`chunkSize` rows per round trip).
     *
     * @example
     * ```ts
     * for await (const book of qb.aiterator()) console.log(book.title)
     * ```
     */
    aiterator(
      options?: QueryBuilderAiteratorOptions & { readonly batchYieldSize?: undefined },
    ): AsyncGenerator<Loaded<Entity, Hint, Fields>, void, undefined>
    /**
     * Options whose `batchYieldSize` is not known statically: lists when it is set, else entities.
     *
     * @example
     * ```ts
     * const options: QueryBuilderAiteratorOptions = loadOptions()
     * for await (const item of qb.aiterator(options)) handle(item) // Book | Book[]
     * ```
     */
    aiterator(
      options?: QueryBuilderAiteratorOptions,
    ): AsyncGenerator<Loaded<Entity, Hint, Fields> | Loaded<Entity, Hint, Fields>[], void, undefined>
  }
}

// MikroORM 6's SQL layer is @mikro-orm/knex: the same method on its QueryBuilder (four type parameters there,
// and `Loaded` without fields). In a project with one of the two packages the other augmentation names a module
// that is not installed, which TypeScript reports in this file only without `skipLibCheck`.
declare module '@mikro-orm/knex' {
  interface QueryBuilder<
    Entity extends object = AnyEntity,
    RootAlias extends string = never,
    Hint extends string = never,
    Context extends object = never,
  > {
    /**
     * Streams what `qb.getResultList()` returns in lists of `batchYieldSize` (MikroORM 6); see the
     * `@mikro-orm/sql` QueryBuilder's `aiterator` and `aiteratorQueryBuilder(qb, …)`.
     *
     * @example
     * ```ts
     * import '@batchyield/mikro-orm'
     *
     * const qb = em.createQueryBuilder(Book, 'b').select('*').where({ rating: { $gte: 4 } })
     * for await (const books of qb.aiterator(500)) await sendToApi(books) // Loaded<Book, never>[]
     * ```
     */
    aiterator(
      batchYieldSize: number,
      options?: Omit<QueryBuilderAiteratorOptions, 'batchYieldSize'>,
    ): AsyncGenerator<Loaded<Entity, Hint>[], void, undefined>
    /** Streams what `qb.getResultList()` returns in lists of `options.batchYieldSize` (MikroORM 6). */
    aiterator(
      options: QueryBuilderAiteratorOptions & { readonly batchYieldSize: number },
    ): AsyncGenerator<Loaded<Entity, Hint>[], void, undefined>
    /** Streams what `qb.getResultList()` returns, one entity at a time (MikroORM 6). */
    aiterator(
      options?: QueryBuilderAiteratorOptions & { readonly batchYieldSize?: undefined },
    ): AsyncGenerator<Loaded<Entity, Hint>, void, undefined>
    /** Options whose `batchYieldSize` is not known statically: lists when it is set, else entities (MikroORM 6). */
    aiterator(
      options?: QueryBuilderAiteratorOptions,
    ): AsyncGenerator<Loaded<Entity, Hint> | Loaded<Entity, Hint>[], void, undefined>
  }
}

/** Marks our method, so a second copy of this package recognises it and installs nothing. */
const MARK = Symbol.for('@batchyield/mikro-orm.aiterator')

function emAiterator(
  this: EntityManager,
  entityName: EntityName<object>,
  options?: AiteratorOptions<object>,
): AsyncGenerator<unknown, void, undefined> {
  return aiterator(this, entityName, options)
}
Object.defineProperty(emAiterator, MARK, { value: true })

function qbAiterator(
  this: QueryBuilder<object>,
  sizeOrOptions?: number | QueryBuilderAiteratorOptions,
  more?: Omit<QueryBuilderAiteratorOptions, 'batchYieldSize'>,
): AsyncGenerator<unknown, void, undefined> {
  return aiteratorQueryBuilder(this, sizeOrOptions, more)
}
Object.defineProperty(qbAiterator, MARK, { value: true })

/**
 * Adds `aiterator` to `EntityManager.prototype` (every EntityManager, its forks and driver
 * subclasses) and to the SQL layer's `QueryBuilder.prototype` (`em.createQueryBuilder(…)`; `@mikro-orm/sql`
 * on MikroORM 7, `@mikro-orm/knex` on 6, when installed).
 * `import '@batchyield/mikro-orm'` calls it once; calling it again is harmless.
 * Throws if another library already put a different `aiterator` there.
 *
 * @example
 * ```ts
 * import { installAiterator } from '@batchyield/mikro-orm'
 * installAiterator() // no-op: importing the package already installed it
 * ```
 */
export function installAiterator(): void {
  install(
    EntityManager.prototype,
    emAiterator,
    'EntityManager.prototype.aiterator is already defined by another library; use aiterator(em, Entity, options) instead of the method',
  )
  const QueryBuilderClass = sqlQueryBuilderClass()
  if (QueryBuilderClass !== undefined) {
    install(
      QueryBuilderClass.prototype,
      qbAiterator,
      `QueryBuilder.prototype.aiterator (${sqlPackageName()}) is already defined by another library; use aiteratorQueryBuilder(qb, options) instead of the method`,
    )
  }
}

function install(prototype: object, method: object, conflict: string): void {
  const proto = prototype as Record<string, unknown>
  const existing = proto.aiterator as (Record<symbol, unknown> & object) | undefined
  if (existing !== undefined) {
    if (existing[MARK] === true) return
    throw new Error(`@batchyield/mikro-orm: ${conflict}`)
  }
  Object.defineProperty(proto, 'aiterator', { value: method, writable: true, configurable: true, enumerable: false })
}
