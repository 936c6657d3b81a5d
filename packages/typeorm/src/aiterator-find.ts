import { describeValue } from '@batchyield/batch-core'
import type { EntityManager, EntityTarget, FindManyOptions, ObjectLiteral, Repository } from 'typeorm'
import { aiterator } from './aiterator.js'
import type { TypeormBatchOptions } from './options.js'

/**
 * Streams what `repo.find(findOptions)` returns (the same entities, in the same order, with the same
 * relations, `select`, `withDeleted`, eager relations…), in lists of `batchYieldSize`, reading `chunkSize`
 * rows per round trip. It builds the query exactly as `find` does (`createQueryBuilder` + `setFindOptions`)
 * and streams it with {@link aiterator}, so every option and guarantee of `qb.aiterator()` applies: `take`
 * and `skip` count entities, `order` decides the strategy (keyset on root columns, else the cursor on
 * PostgreSQL). The same as `repo.aiterator(findOptions, …)` without touching TypeORM's prototypes.
 *
 * Find options are read when you call it; nothing runs until the first `next()`.
 *
 * @example
 * ```ts
 * import { aiteratorFind } from '@batchyield/typeorm'
 *
 * const books = dataSource.getRepository(Book)
 * for await (const batch of aiteratorFind(books, { where: { rating: MoreThan(3) }, relations: { author: true }, order: { publishedAt: 'DESC' } }, 500)) {
 *   await indexBooks(batch) // batch: Book[], each with its author
 * }
 * ```
 */
export function aiteratorFind<E extends ObjectLiteral>(
  repo: Repository<E>,
  findOptions: FindManyOptions<E> | undefined,
  batchYieldSize: number,
  options?: Omit<TypeormBatchOptions, 'batchYieldSize'>,
): AsyncGenerator<E[], void, undefined>
export function aiteratorFind<E extends ObjectLiteral>(
  repo: Repository<E>,
  findOptions: FindManyOptions<E> | undefined,
  options: TypeormBatchOptions & { readonly batchYieldSize: number },
): AsyncGenerator<E[], void, undefined>
export function aiteratorFind<E extends ObjectLiteral>(
  repo: Repository<E>,
  findOptions?: FindManyOptions<E>,
  options?: TypeormBatchOptions & { readonly batchYieldSize?: undefined },
): AsyncGenerator<E, void, undefined>
export function aiteratorFind<E extends ObjectLiteral>(
  repo: Repository<E>,
  findOptions?: FindManyOptions<E>,
  options?: number | TypeormBatchOptions,
  more?: Omit<TypeormBatchOptions, 'batchYieldSize'>,
): AsyncGenerator<E | E[], void, undefined>
export function aiteratorFind<E extends ObjectLiteral>(
  repo: Repository<E>,
  findOptions?: FindManyOptions<E>,
  sizeOrOptions?: number | TypeormBatchOptions,
  more?: Omit<TypeormBatchOptions, 'batchYieldSize'>,
): AsyncGenerator<E | E[], void, undefined> {
  return repositoryFind(repo, findOptions, sizeOrOptions, more, 'aiteratorFind()')
}

/** `repo.aiterator(findOptions, …)` and {@link aiteratorFind}; `call` names the form in error messages. */
export function repositoryFind<E extends ObjectLiteral>(
  repo: Repository<E>,
  findOptions: FindManyOptions<E> | undefined,
  sizeOrOptions: number | TypeormBatchOptions | undefined,
  more: Omit<TypeormBatchOptions, 'batchYieldSize'> | undefined,
  call: string,
): AsyncGenerator<E | E[], void, undefined> {
  if (
    typeof repo !== 'object' ||
    repo === null ||
    typeof (repo as { find?: unknown }).find !== 'function' ||
    typeof (repo as { manager?: unknown }).manager !== 'object'
  ) {
    throw new TypeError(
      `${call}: the first argument must be a TypeORM Repository (dataSource.getRepository(Entity)); received ${describeValue(repo)}`,
    )
  }
  // repo.find(options) is manager.find(repo.metadata.target, options)
  return managerFind(repo.manager, repo.metadata.target, findOptions, sizeOrOptions, more, call)
}

/**
 * `manager.aiterator(Entity, findOptions, …)`: streams what `manager.find(Entity, findOptions)` returns.
 * `manager.find` builds `manager.createQueryBuilder(Entity, metadata.name).setFindOptions(findOptions)`;
 * this builds the same query builder and hands it to {@link aiterator}. A manager bound to a query runner
 * (a transaction's `manager`) runs every query of the iteration on that runner. `call` names the form in
 * error messages.
 */
export function managerFind<E extends ObjectLiteral>(
  manager: EntityManager,
  target: EntityTarget<E>,
  findOptions: FindManyOptions<E> | undefined,
  sizeOrOptions: number | TypeormBatchOptions | undefined,
  more: Omit<TypeormBatchOptions, 'batchYieldSize'> | undefined,
  call: string,
): AsyncGenerator<E | E[], void, undefined> {
  if (typeof findOptions === 'number') {
    throw new TypeError(
      `${call}: the find options come first, the batch size second; received ${findOptions} where the find options go. Pass { where, relations, order, … } (or {}) first, then ${findOptions}`,
    )
  }
  if (
    findOptions !== undefined &&
    (findOptions === null || typeof findOptions !== 'object' || Array.isArray(findOptions))
  ) {
    throw new TypeError(
      `${call}: findOptions must be TypeORM find options (an object like { where, relations, order }) or undefined; received ${describeValue(findOptions)}`,
    )
  }
  const metadata = manager.connection.getMetadata(target)
  const qb = manager.createQueryBuilder(target, metadata.name).setFindOptions(findOptions ?? {})
  return aiterator(qb, sizeOrOptions, more)
}
