import {
  assertOptionsObject,
  decodeResumeToken,
  describeValue,
  iterateChunks,
  KeysetOrderingError,
  type KeyShape,
  type OpenChunkSource,
  resolveRangeOptions,
  StrategyUnavailableError,
  validateBatchOptions,
} from '@batchyield/batch-core'
import type { EntityManager, EntityMetadata, EntityName, Loaded } from '@mikro-orm/core'
import { openCursorSource } from './cursor-source.js'
import { reusableFilter } from './internals.js'
import { keyDialect } from './key-columns.js'
import { openKeysetSource } from './keyset-source.js'
import { resolveOrdering } from './keyset-ordering.js'
import { type AiteratorOptions, PASSTHROUGH_FIND_OPTIONS, validateAdapterOptions } from './options.js'
import { entityPartitionQuery, keyShape } from './partitions.js'
import type { QuerySpec } from './query-spec.js'

/**
 * Iterates over `Entity` rows matching `options.where`, loading `chunkSize` rows per round trip
 * and yielding lists of `batchYieldSize` entities (single entities without it), with memory
 * bounded by the chunk: each chunk is loaded into a fresh fork of `em`, so `em`'s identity map
 * stays empty. Same as `em.aiterator(Entity, options)`, without touching the prototype.
 *
 * Options are checked here, synchronously, before any query; nothing runs until the first
 * `next()`.
 *
 * @example
 * ```ts
 * import { aiterator, flushBatch } from '@batchyield/mikro-orm'
 *
 * for await (const books of aiterator(em, Book, { where: { rating: 5 }, populate: ['author'], batchYieldSize: 500 })) {
 *   for (const book of books) book.title = book.title.trim()
 *   await flushBatch(books) // persists this batch through the EntityManager that loaded it
 * }
 * ```
 */
export function aiterator<
  Entity extends object,
  Hint extends string = never,
  Fields extends string = never,
  Excludes extends string = never,
>(
  em: EntityManager,
  entityName: EntityName<Entity>,
  options: AiteratorOptions<NoInfer<Entity>, Hint, Fields, Excludes> & { readonly batchYieldSize: number },
): AsyncGenerator<Loaded<Entity, Hint, Fields, Excludes>[], void, undefined>
export function aiterator<
  Entity extends object,
  Hint extends string = never,
  Fields extends string = never,
  Excludes extends string = never,
>(
  em: EntityManager,
  entityName: EntityName<Entity>,
  options?: AiteratorOptions<NoInfer<Entity>, Hint, Fields, Excludes> & { readonly batchYieldSize?: undefined },
): AsyncGenerator<Loaded<Entity, Hint, Fields, Excludes>, void, undefined>
export function aiterator<
  Entity extends object,
  Hint extends string = never,
  Fields extends string = never,
  Excludes extends string = never,
>(
  em: EntityManager,
  entityName: EntityName<Entity>,
  options?: AiteratorOptions<NoInfer<Entity>, Hint, Fields, Excludes>,
): AsyncGenerator<Loaded<Entity, Hint, Fields, Excludes> | Loaded<Entity, Hint, Fields, Excludes>[], void, undefined>
export function aiterator(
  em: EntityManager,
  entityName: EntityName<any>,
  options?: AiteratorOptions<any, any, any, any>,
): AsyncGenerator<unknown, void, undefined> {
  const open = planIteration(em, entityName, options ?? {})
  return iterateChunks(open, options) as AsyncGenerator<unknown, void, undefined>
}

/** Validates everything and picks the strategy; returns how to open the chunk source. */
function planIteration(
  em: EntityManager,
  entityName: EntityName<object>,
  options: AiteratorOptions<any, any, any, any>,
): OpenChunkSource<object> {
  assertEntityManager(em)
  assertOptionsObject('options', options)
  const engine = validateBatchOptions(options)
  validateAdapterOptions(options)
  const meta = entityMetadata(em, entityName)
  const { where, orderBy, offset, strategy = 'auto', loadStrategy, after, from, to, partition } = options
  const bounded = from !== undefined || to !== undefined || partition !== undefined
  if (bounded && offset !== undefined && offset > 0) {
    // a range is read as up to two index stretches: an offset would be applied to each
    throw new TypeError(
      `offset (${offset}) cannot be combined with from, to or partition: a range starts at a position. Move the start with from instead`,
    )
  }
  if (bounded && strategy === 'cursor') {
    throw new TypeError(
      `from, to and partition (positions in the keyset ordering) work with the keyset strategy only; received strategy: 'cursor'. Use strategy: 'keyset' or 'auto'`,
    )
  }

  const findOptions: Record<string, unknown> = {}
  for (const key of PASSTHROUGH_FIND_OPTIONS) if (options[key] !== undefined) findOptions[key] = options[key]
  if (loadStrategy !== undefined) findOptions.strategy = loadStrategy
  const spec: QuerySpec = {
    em,
    entityName,
    meta,
    where: reusableFilter(where),
    findOptions,
    offset,
    chunkSize: engine.chunkSize,
    limit: engine.limit,
    chunkTimeoutMs: engine.chunkTimeoutMs,
    readAhead: engine.prefetch > 0,
    progressEvery: options.onProgress === undefined ? undefined : (options.batchYieldSize ?? 1),
  }

  const ordering = resolveOrdering(meta, em.getPlatform(), orderBy, keyDialect(em))
  const cursorAvailable = supportsCursor(em)
  if (ordering.supported && strategy !== 'cursor') {
    const shape: KeyShape = keyShape(meta, ordering)
    const resumeAfter = after === undefined ? undefined : decodeResumeToken(after, shape)
    const range = bounded
      ? resolveRangeOptions(
          { from, to, partition },
          shape,
          () =>
            entityPartitionQuery(meta, ordering, {
              where: spec.where(),
              filters: findOptions.filters,
              schema: findOptions.schema,
            }).conditions,
        )
      : undefined
    return () => openKeysetSource(spec, ordering, shape, resumeAfter, range)
  }
  if (strategy === 'keyset' || (strategy === 'auto' && (!cursorAvailable || after !== undefined || bounded))) {
    const reason = ordering.supported ? '' : ordering.reason
    const fallback =
      strategy === 'keyset'
        ? "or use strategy: 'cursor' (PostgreSQL)"
        : after !== undefined
          ? '(a resume token needs keyset; the cursor strategy cannot resume)'
          : bounded
            ? '(from, to and partition need keyset)'
            : `('cursor', the fallback, needs PostgreSQL; this EntityManager uses ${platformName(em)})`
    throw new KeysetOrderingError(
      `Keyset iteration over ${meta.className} cannot follow this ordering: ${reason}. Order by scalar properties of ${meta.className} (the primary key is appended as the tie-breaker) ${fallback}`,
    )
  }
  // strategy is 'cursor', or 'auto' falling back to it
  if (!cursorAvailable) {
    throw new StrategyUnavailableError(
      `strategy 'cursor' needs PostgreSQL (a server-side cursor: DECLARE … CURSOR / FETCH); this EntityManager uses ${platformName(em)}. Use strategy: 'keyset' (or 'auto') instead`,
    )
  }
  if (after !== undefined) {
    throw new StrategyUnavailableError(
      `after (a resume token) works with the keyset strategy only; received strategy: 'cursor'. Leave out after, or use strategy: 'keyset'`,
    )
  }
  return () => openCursorSource(spec, ordering.orderBy)
}

function assertEntityManager(em: unknown): asserts em is EntityManager {
  if (
    em === null ||
    typeof em !== 'object' ||
    typeof (em as EntityManager).fork !== 'function' ||
    typeof (em as EntityManager).getMetadata !== 'function'
  ) {
    throw new TypeError(
      `aiterator(): em must be a MikroORM EntityManager (orm.em or a fork); received ${describeValue(em)}`,
    )
  }
}

function entityMetadata(em: EntityManager, entityName: EntityName<object>): EntityMetadata {
  try {
    return em.getMetadata(entityName)
  } catch (error) {
    throw new TypeError(
      `aiterator(): ${describeValue(typeof entityName === 'function' ? entityName.name : entityName)} is not an entity known to this EntityManager (${(error as Error).message})`,
      { cause: error },
    )
  }
}

/** The cursor strategy declares a PostgreSQL server-side cursor, so it needs the node-postgres driver. */
function supportsCursor(em: EntityManager): boolean {
  return em.getDriver().getDependencies().includes('pg')
}

function platformName(em: EntityManager): string {
  return em.getPlatform().constructor.name.replace(/Platform$/, '')
}
