import {
  EntityManager,
  type EntityTarget,
  type FindManyOptions,
  type ObjectLiteral,
  Repository,
  SelectQueryBuilder,
} from 'typeorm'
import { aiterator } from './aiterator.js'
import { managerFind, repositoryFind } from './aiterator-find.js'
import type { TypeormBatchOptions } from './options.js'

declare module 'typeorm' {
  interface SelectQueryBuilder<Entity extends ObjectLiteral> {
    /**
     * Streams this query's entities in lists of `batchYieldSize` (the last may be shorter),
     * fetching `chunkSize` rows (default 2000) per round trip. Added by `@batchyield/typeorm`.
     *
     * @example
     * ```ts
     * import '@batchyield/typeorm'
     * for await (const users of repo.createQueryBuilder('u').where('u.active').aiterator(500)) await sendToApi(users)
     * ```
     */
    aiterator(
      batchYieldSize: number,
      options?: Omit<TypeormBatchOptions, 'batchYieldSize'>,
    ): AsyncGenerator<Entity[], void, undefined>
    /**
     * Streams this query's entities in lists of `options.batchYieldSize`.
     *
     * @example
     * ```ts
     * for await (const users of qb.aiterator({ batchYieldSize: 500, chunkSize: 5000, strategy: 'keyset' })) await sendToApi(users)
     * ```
     */
    aiterator(
      options: TypeormBatchOptions & { readonly batchYieldSize: number },
    ): AsyncGenerator<Entity[], void, undefined>
    /**
     * Streams this query's entities one at a time (fetched `chunkSize` rows per round trip).
     *
     * @example
     * ```ts
     * for await (const user of qb.aiterator()) console.log(user.email)
     * ```
     */
    aiterator(
      options?: TypeormBatchOptions & { readonly batchYieldSize?: undefined },
    ): AsyncGenerator<Entity, void, undefined>
    /**
     * Options whose `batchYieldSize` is not known statically: lists when it is set, else entities.
     *
     * @example
     * ```ts
     * const options: TypeormBatchOptions = loadOptions()
     * for await (const item of qb.aiterator(options)) handle(item) // User | User[]
     * ```
     */
    aiterator(options?: TypeormBatchOptions): AsyncGenerator<Entity | Entity[], void, undefined>
  }

  interface Repository<Entity extends ObjectLiteral> {
    /**
     * Streams what `repo.find(findOptions)` returns (same entities, order, relations, `select`,
     * `withDeleted`), in lists of `batchYieldSize`, `chunkSize` rows (default 2000) per round trip.
     * Added by `@batchyield/typeorm`; `aiteratorFind(repo, …)` is the same without the prototype.
     *
     * @example
     * ```ts
     * import '@batchyield/typeorm'
     * for await (const users of userRepository.aiterator({ where: { active: true }, relations: { team: true } }, 500)) await sendToApi(users)
     * ```
     */
    aiterator(
      findOptions: FindManyOptions<Entity> | undefined,
      batchYieldSize: number,
      options?: Omit<TypeormBatchOptions, 'batchYieldSize'>,
    ): AsyncGenerator<Entity[], void, undefined>
    /**
     * Streams what `repo.find(findOptions)` returns in lists of `options.batchYieldSize`.
     *
     * @example
     * ```ts
     * for await (const users of userRepository.aiterator({ order: { createdAt: 'DESC' } }, { batchYieldSize: 500, strategy: 'keyset' })) await sendToApi(users)
     * ```
     */
    aiterator(
      findOptions: FindManyOptions<Entity> | undefined,
      options: TypeormBatchOptions & { readonly batchYieldSize: number },
    ): AsyncGenerator<Entity[], void, undefined>
    /**
     * Streams what `repo.find(findOptions)` returns, one entity at a time (`chunkSize` rows per round trip).
     *
     * @example
     * ```ts
     * for await (const user of userRepository.aiterator({ where: { active: true } })) console.log(user.email)
     * ```
     */
    aiterator(
      findOptions?: FindManyOptions<Entity>,
      options?: TypeormBatchOptions & { readonly batchYieldSize?: undefined },
    ): AsyncGenerator<Entity, void, undefined>
    /**
     * Options whose `batchYieldSize` is not known statically: lists when it is set, else entities.
     *
     * @example
     * ```ts
     * const options: TypeormBatchOptions = loadOptions()
     * for await (const item of userRepository.aiterator({}, options)) handle(item) // User | User[]
     * ```
     */
    aiterator(
      findOptions?: FindManyOptions<Entity>,
      options?: TypeormBatchOptions,
    ): AsyncGenerator<Entity | Entity[], void, undefined>
  }

  interface EntityManager {
    /**
     * Streams what `manager.find(entityClass, findOptions)` returns, in lists of `batchYieldSize`,
     * `chunkSize` rows (default 2000) per round trip. A transaction's `manager` runs every query of
     * the iteration in that transaction. Added by `@batchyield/typeorm`.
     *
     * @example
     * ```ts
     * import '@batchyield/typeorm'
     * await dataSource.transaction(async (manager) => {
     *   for await (const books of manager.aiterator(Book, { where: { rating: 5 } }, 500)) await manager.save(books.map(promote))
     * })
     * ```
     */
    aiterator<Entity extends ObjectLiteral>(
      entityClass: EntityTarget<Entity>,
      findOptions: FindManyOptions<Entity> | undefined,
      batchYieldSize: number,
      options?: Omit<TypeormBatchOptions, 'batchYieldSize'>,
    ): AsyncGenerator<Entity[], void, undefined>
    /**
     * Streams what `manager.find(entityClass, findOptions)` returns in lists of `options.batchYieldSize`.
     *
     * @example
     * ```ts
     * for await (const books of dataSource.manager.aiterator(Book, { order: { id: 'DESC' } }, { batchYieldSize: 500 })) await index(books)
     * ```
     */
    aiterator<Entity extends ObjectLiteral>(
      entityClass: EntityTarget<Entity>,
      findOptions: FindManyOptions<Entity> | undefined,
      options: TypeormBatchOptions & { readonly batchYieldSize: number },
    ): AsyncGenerator<Entity[], void, undefined>
    /**
     * Streams what `manager.find(entityClass, findOptions)` returns, one entity at a time.
     *
     * @example
     * ```ts
     * for await (const book of dataSource.manager.aiterator(Book, { where: { rating: 5 } })) console.log(book.title)
     * ```
     */
    aiterator<Entity extends ObjectLiteral>(
      entityClass: EntityTarget<Entity>,
      findOptions?: FindManyOptions<Entity>,
      options?: TypeormBatchOptions & { readonly batchYieldSize?: undefined },
    ): AsyncGenerator<Entity, void, undefined>
    /**
     * Options whose `batchYieldSize` is not known statically: lists when it is set, else entities.
     *
     * @example
     * ```ts
     * for await (const item of dataSource.manager.aiterator(Book, {}, loadOptions())) handle(item) // Book | Book[]
     * ```
     */
    aiterator<Entity extends ObjectLiteral>(
      entityClass: EntityTarget<Entity>,
      findOptions?: FindManyOptions<Entity>,
      options?: TypeormBatchOptions,
    ): AsyncGenerator<Entity | Entity[], void, undefined>
  }
}

/** Marks our method, shared by the ESM and CommonJS builds (Symbol.for is process-wide). */
const MARK = Symbol.for('@batchyield/typeorm/aiterator')

/**
 * Adds `aiterator()` to TypeORM's `SelectQueryBuilder.prototype` (`qb.aiterator(size)`),
 * `Repository.prototype` (`repo.aiterator(findOptions, size)`) and `EntityManager.prototype`
 * (`manager.aiterator(Entity, findOptions, size)`). Importing `@batchyield/typeorm` does this
 * already; calling it again (or loading both the ESM and the CommonJS build) changes nothing.
 * Throws if another library defined an `aiterator` on one of them.
 *
 * @example
 * ```ts
 * import { installAiterator } from '@batchyield/typeorm'
 * installAiterator() // idempotent
 * ```
 */
export function installAiterator(): void {
  install(
    SelectQueryBuilder.prototype,
    'SelectQueryBuilder',
    'aiterator(qb, options)',
    function (
      this: SelectQueryBuilder<ObjectLiteral>,
      sizeOrOptions?: number | TypeormBatchOptions,
      more?: Omit<TypeormBatchOptions, 'batchYieldSize'>,
    ) {
      return aiterator(this, sizeOrOptions, more)
    },
  )
  install(
    Repository.prototype,
    'Repository',
    'aiteratorFind(repo, findOptions, options)',
    function (
      this: Repository<ObjectLiteral>,
      findOptions?: FindManyOptions<ObjectLiteral>,
      sizeOrOptions?: number | TypeormBatchOptions,
      more?: Omit<TypeormBatchOptions, 'batchYieldSize'>,
    ) {
      return repositoryFind(this, findOptions, sizeOrOptions, more, 'repo.aiterator(findOptions, …)')
    },
  )
  install(
    EntityManager.prototype,
    'EntityManager',
    'aiteratorFind(manager.getRepository(Entity), findOptions, options)',
    function (
      this: EntityManager,
      target: EntityTarget<ObjectLiteral>,
      findOptions?: FindManyOptions<ObjectLiteral>,
      sizeOrOptions?: number | TypeormBatchOptions,
      more?: Omit<TypeormBatchOptions, 'batchYieldSize'>,
    ) {
      return managerFind(this, target, findOptions, sizeOrOptions, more, 'manager.aiterator(Entity, findOptions, …)')
    },
  )
}

/** Defines our `aiterator` on `prototype` once (non-enumerable), or throws when another library's is there. */
function install(prototype: object, className: string, instead: string, method: (...args: never[]) => unknown): void {
  const target = prototype as Record<PropertyKey, unknown>
  const existing = Object.getOwnPropertyDescriptor(target, 'aiterator')
  if (existing !== undefined) {
    if ((existing.value as Record<PropertyKey, unknown> | undefined)?.[MARK] === true) return
    throw new TypeError(
      `@batchyield/typeorm: ${className}.prototype.aiterator is already defined by another library; use ${instead} instead`,
    )
  }
  Object.defineProperty(method, MARK, { value: true })
  Object.defineProperty(target, 'aiterator', { value: method, writable: true, configurable: true, enumerable: false })
}
