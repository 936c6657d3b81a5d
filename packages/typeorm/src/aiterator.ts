import {
  BATCH_OPTION_NAMES,
  assertOneOf,
  assertOptionsObject,
  decodeResumeToken,
  describeValue,
  iterateChunks,
  type KeyShape,
  KeysetOrderingError,
  type KeysetRange,
  resolveRangeOptions,
  StrategyUnavailableError,
  validateBatchOptions,
} from '@batchyield/batch-core'
import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm'
import { CursorSource } from './cursor-source.js'
import { KeysetSource } from './keyset-source.js'
import { readAheadOf } from './read-ahead.js'
import { STRATEGIES, type TypeormBatchOptions } from './options.js'
import { partitionQueryOf } from './partition-query.js'
import { keyShapeOf, planQuery, type QueryPlan } from './query-plan.js'

/** Where a keyset run starts and stops (see RangeOptions). */
const RANGE_OPTIONS = ['from', 'to', 'partition'] as const
const KNOWN_OPTIONS = new Set<string>([...BATCH_OPTION_NAMES, 'strategy', 'after'])

/**
 * Streams the entities of a TypeORM select query in chunks of `chunkSize` rows, yielding lists
 * of `batchYieldSize` entities (the last may be shorter), or one entity at a time without it.
 * Entities are hydrated exactly as `getMany()` hydrates them. The same as `qb.aiterator(…)`
 * without touching TypeORM's prototype.
 *
 * Options are checked here, synchronously, before any query runs; the first query runs on the
 * first `next()`. Whatever ends the loop (completion, `break`, a throw, `signal`, a database
 * error), the cursor is closed, the transaction ended and the connection released.
 *
 * @example
 * ```ts
 * import { aiterator } from '@batchyield/typeorm'
 *
 * const qb = dataSource.getRepository(Book).createQueryBuilder('b').where('b.rating >= :r', { r: 4 }).orderBy('b.publishedAt', 'DESC')
 * for await (const books of aiterator(qb, 500)) await indexBooks(books) // books: Book[]
 * for await (const book of aiterator(qb)) console.log(book.title) // one Book at a time
 * ```
 */
export function aiterator<E extends ObjectLiteral>(
  qb: SelectQueryBuilder<E>,
  batchYieldSize: number,
  options?: Omit<TypeormBatchOptions, 'batchYieldSize'>,
): AsyncGenerator<E[], void, undefined>
export function aiterator<E extends ObjectLiteral>(
  qb: SelectQueryBuilder<E>,
  options: TypeormBatchOptions & { readonly batchYieldSize: number },
): AsyncGenerator<E[], void, undefined>
export function aiterator<E extends ObjectLiteral>(
  qb: SelectQueryBuilder<E>,
  options?: TypeormBatchOptions & { readonly batchYieldSize?: undefined },
): AsyncGenerator<E, void, undefined>
export function aiterator<E extends ObjectLiteral>(
  qb: SelectQueryBuilder<E>,
  options?: number | TypeormBatchOptions,
  more?: Omit<TypeormBatchOptions, 'batchYieldSize'>,
): AsyncGenerator<E | E[], void, undefined>
export function aiterator<E extends ObjectLiteral>(
  qb: SelectQueryBuilder<E>,
  sizeOrOptions?: number | TypeormBatchOptions,
  more?: Omit<TypeormBatchOptions, 'batchYieldSize'>,
): AsyncGenerator<E | E[], void, undefined> {
  if (
    typeof qb !== 'object' ||
    qb === null ||
    typeof (qb as { getRawAndEntities?: unknown }).getRawAndEntities !== 'function'
  ) {
    throw new TypeError(
      `aiterator(): the first argument must be a TypeORM SelectQueryBuilder; received ${describeValue(qb)}`,
    )
  }
  const options = normalizeOptions(sizeOrOptions, more)
  const { strategy: requested = 'auto', after, from, to, partition, ...batchOptions } = options
  const engineOptions = validateBatchOptions(batchOptions)
  assertOneOf('strategy', requested, STRATEGIES)
  if (after !== undefined && typeof after !== 'string') {
    throw new TypeError(
      `after must be a resume token string (progress.cursor of an earlier run); received ${describeValue(after)} (${typeof after})`,
    )
  }
  const plan = planQuery(qb)
  const bounded = from !== undefined || to !== undefined || partition !== undefined
  const strategy = chooseStrategy(plan, requested, after, bounded)
  if (bounded && plan.skip > 0) {
    // a range is read as up to two index stretches: an OFFSET would be applied to each
    throw new TypeError(
      `skip(${plan.skip}) cannot be combined with from, to or partition: a range starts at a position. Move the start with from instead`,
    )
  }
  const limit = minDefined(engineOptions.limit, plan.take)
  const prefix = uniquePrefix(plan)

  if (strategy === 'cursor') {
    return iterateChunks(
      () => CursorSource.open(plan, prefix, readAheadOf(engineOptions), engineOptions.chunkTimeoutMs),
      { ...engineOptions, limit },
    )
  }
  const ordering = plan.keyset!
  const shape: KeyShape = keyShapeOf(plan, ordering)
  const afterValues = after === undefined ? undefined : decodeResumeToken(after, shape)
  const range: KeysetRange | undefined = bounded
    ? resolveRangeOptions({ from, to, partition }, shape, () => partitionQueryOf(plan, ordering).conditions)
    : undefined
  return iterateChunks(
    () =>
      new KeysetSource(
        plan,
        ordering,
        shape,
        prefix,
        afterValues,
        keptChunks(engineOptions),
        readAheadOf(engineOptions),
        range,
        engineOptions.chunkTimeoutMs,
      ),
    { ...engineOptions, limit },
  )
}

/**
 * Chunks whose key values the keyset source keeps for resume tokens: none without `onProgress`
 * (the engine asks for a token only to report progress), else those the engine may still
 * report from (see `KeysetSource.remember`), plus one to spare.
 */
function keptChunks({ onProgress, prefetch }: { readonly onProgress?: unknown; readonly prefetch: number }): number {
  return onProgress === undefined ? 0 : prefetch + 3
}

function normalizeOptions(sizeOrOptions: unknown, more: unknown): TypeormBatchOptions {
  if (typeof sizeOrOptions === 'number') {
    if (more !== undefined) {
      assertOptionsObject('options', more)
      if ('batchYieldSize' in more) {
        throw new TypeError(
          'aiterator(size, options): give batchYieldSize once, either as the first argument or in options',
        )
      }
    }
    return checkKnown({ ...(more as object | undefined), batchYieldSize: sizeOrOptions })
  }
  if (more !== undefined) {
    throw new TypeError(
      `aiterator(): a second options argument is only accepted after a numeric batchYieldSize; received ${describeValue(sizeOrOptions)} first`,
    )
  }
  if (sizeOrOptions === undefined) return {}
  if (typeof sizeOrOptions !== 'object' || sizeOrOptions === null || Array.isArray(sizeOrOptions)) {
    throw new TypeError(
      `aiterator() takes a batchYieldSize (positive integer) or an options object; received ${describeValue(sizeOrOptions)} (${sizeOrOptions === null ? 'null' : typeof sizeOrOptions})`,
    )
  }
  return checkKnown(sizeOrOptions as TypeormBatchOptions)
}

function checkKnown(options: TypeormBatchOptions): TypeormBatchOptions {
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key) && !(RANGE_OPTIONS as readonly string[]).includes(key)) {
      throw new TypeError(
        `aiterator(): unknown option ${JSON.stringify(key)}; accepted options are ${[...KNOWN_OPTIONS, ...RANGE_OPTIONS].join(', ')}`,
      )
    }
  }
  return options
}

function chooseStrategy(
  plan: QueryPlan<ObjectLiteral>,
  requested: 'auto' | 'keyset' | 'cursor',
  after: string | undefined,
  bounded = false,
): 'keyset' | 'cursor' {
  const { dialect } = plan
  if (requested === 'cursor') {
    if (after !== undefined) {
      throw new TypeError(
        `after (a resume token) works with strategy 'keyset' only; received strategy 'cursor'. Use strategy 'keyset' or 'auto' to resume`,
      )
    }
    if (bounded) {
      throw new TypeError(
        `from, to and partition (positions in the keyset ordering) work with strategy 'keyset' only; received strategy 'cursor'. Use strategy 'keyset' or 'auto'`,
      )
    }
    if (!dialect.supportsCursor) {
      throw new StrategyUnavailableError(
        `strategy 'cursor' needs server-side cursors, which ${dialect.name} does not offer through TypeORM; use strategy 'keyset' (or 'auto')`,
      )
    }
    assertCursorOrdering(plan)
    return 'cursor'
  }
  if (plan.keyset !== undefined) return 'keyset'
  if (requested === 'keyset' || after !== undefined || bounded) {
    const why =
      requested === 'keyset'
        ? "strategy 'keyset'"
        : after !== undefined
          ? 'after (a resume token, keyset only)'
          : 'from, to and partition (keyset only)'
    throw new KeysetOrderingError(
      `${why} cannot follow this query's ordering: ${plan.keysetProblem}. Order by columns of ${plan.entityName} only${dialect.supportsCursor && after === undefined && !bounded ? ", or use strategy 'cursor'" : ''}`,
    )
  }
  if (!dialect.supportsCursor) {
    throw new KeysetOrderingError(
      `strategy 'auto' cannot stream this query on ${dialect.name}: ${plan.keysetProblem}, and ${dialect.name} has no server-side cursors. Order by columns of ${plan.entityName} (the primary key is appended as tie-breaker)`,
    )
  }
  assertCursorOrdering(plan)
  return 'cursor'
}

/** With to-many joins, a cursor needs each entity's rows adjacent: an ORDER BY that keyset could follow too. */
function assertCursorOrdering(plan: QueryPlan<ObjectLiteral>): void {
  if (plan.toManyJoins && plan.rootOrdering === undefined) {
    throw new KeysetOrderingError(
      `this query joins to-many relations, and ${plan.keysetProblem}; an entity's rows would not be adjacent, so no strategy can keep entities whole. Order by columns of ${plan.entityName} first (and the primary key), then by joined columns`,
    )
  }
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b
  if (b === undefined) return a
  return Math.min(a, b)
}

/** A per-iterator prefix for parameter names, select aliases and the cursor name that no user parameter starts with. */
function uniquePrefix(plan: QueryPlan<ObjectLiteral>): string {
  const taken = Object.keys(plan.base.getParameters())
  for (;;) {
    const prefix = `by${Math.random().toString(36).slice(2, 10).padEnd(8, '0')}_`
    if (!taken.some((name) => name.startsWith(prefix))) return prefix
  }
}
