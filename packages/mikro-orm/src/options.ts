import {
  BATCH_OPTION_NAMES,
  assertNonNegativeInteger,
  assertOneOf,
  type BatchOptions,
  describeValue,
  type RangeOptions,
} from '@batchyield/batch-core'
import { type FilterQuery, type FindOptions, LoadStrategy, type OrderDefinition } from '@mikro-orm/core'

/**
 * How rows are read:
 * - `'keyset'`: one `em.find` per chunk, seeking past the last row's sort key; holds no
 *   connection between chunks.
 * - `'cursor'`: one PostgreSQL server-side cursor over the matching primary keys for the whole
 *   run; each chunk's entities load with one `em.find` on the cursor's connection.
 * - `'auto'` (default): `'keyset'` when the ordering allows it, else `'cursor'` on PostgreSQL.
 *
 * @example
 * ```ts
 * // ordering by a relation: keyset cannot follow it, so ask for the cursor explicitly
 * em.aiterator(Book, { orderBy: { author: { name: 'asc' } }, strategy: 'cursor', batchYieldSize: 500 })
 * ```
 */
export type IterationStrategy = 'auto' | 'keyset' | 'cursor'

export const ITERATION_STRATEGIES = ['auto', 'keyset', 'cursor'] as const

/** The `em.find` options that are passed through unchanged to every chunk query. */
export const PASSTHROUGH_FIND_OPTIONS = [
  'populate',
  'fields',
  'exclude',
  'populateWhere',
  'populateOrderBy',
  'populateHints',
  'filters',
  'schema',
  'flags',
  'inflightQueryAbortStrategy',
  'loggerContext',
  'logging',
  'connectionType',
  'convertCustomTypes',
  'comments',
  'hintComments',
  'indexHint',
] as const satisfies readonly (keyof FindOptions<object>)[]

// Only the names the running MikroORM's FindOptions has (6.x lacks some of 7's), so none becomes required.
type PassthroughFindOptions<Entity, Hint extends string, Fields extends string, Excludes extends string> = Pick<
  FindOptions<Entity, Hint, Fields, Excludes>,
  Extract<(typeof PASSTHROUGH_FIND_OPTIONS)[number], keyof FindOptions<Entity, Hint, Fields, Excludes>>
>

/**
 * Options of `em.aiterator(Entity, options)`: the engine's {@link BatchOptions} (`batchYieldSize`,
 * `chunkSize`, `prefetch`, `limit`, `signal`, `onProgress`), the query (`where`, `orderBy`,
 * `offset`, and `em.find`'s `populate`, `fields`, `exclude`, `filters`, `populateWhere`, …), how
 * to read (`strategy`, `after`, `loadStrategy`), and where to start and stop (`from`, `to`, or a
 * `partition` from `partitions()`; keyset only).
 *
 * `populate` and `fields` narrow the yielded type exactly as they do for `em.find`.
 *
 * @example
 * ```ts
 * import '@batchyield/mikro-orm'
 *
 * const books = em.aiterator(Book, {
 *   where: { price: { $gt: 10 } },
 *   orderBy: { publishedAt: 'desc' },
 *   populate: ['author', 'tags'],
 *   batchYieldSize: 500,
 *   chunkSize: 2000,
 * })
 * for await (const batch of books) console.log(batch.length, batch[0]?.author.name)
 * ```
 */
export interface AiteratorOptions<
  Entity,
  Hint extends string = never,
  Fields extends string = never,
  Excludes extends string = never,
>
  extends BatchOptions, RangeOptions, PassthroughFindOptions<Entity, Hint, Fields, Excludes> {
  /** The `em.find` condition. Default: every row. */
  readonly where?: FilterQuery<Entity>
  /**
   * The `em.find` ordering. The primary key is appended as a tie-breaker, so the order is total.
   * Default: the entity's default ordering, else the primary key.
   */
  readonly orderBy?: OrderDefinition<Entity>
  /** Rows to skip before the first one (applied to the first chunk only). */
  readonly offset?: number
  /** How rows are read; see {@link IterationStrategy}. Default `'auto'`. */
  readonly strategy?: IterationStrategy
  /**
   * MikroORM's load strategy for populated relations (`em.find`'s `strategy` option, renamed
   * because `strategy` selects the iteration strategy here). Applies to both strategies: each
   * chunk's entities load with one `em.find`.
   */
  readonly loadStrategy?: LoadStrategy | `${LoadStrategy}`
  /** Resume token from an earlier run's `onProgress` `cursor`: start right after that row (keyset only). */
  readonly after?: string
}

const ADAPTER_OPTIONS = [
  'where',
  'orderBy',
  'offset',
  'strategy',
  'loadStrategy',
  'after',
  'from',
  'to',
  'partition',
] as const
const KNOWN_OPTIONS: ReadonlySet<string> = new Set([
  ...BATCH_OPTION_NAMES,
  ...ADAPTER_OPTIONS,
  ...PASSTHROUGH_FIND_OPTIONS,
])
const LOAD_STRATEGIES = Object.values(LoadStrategy)

/**
 * Checks the options this adapter adds to {@link BatchOptions} (the engine checks its own):
 * unknown names (typos), `strategy`, `offset`, `loadStrategy`, `after`, the shape of `where`,
 * `populate`, `fields` and `exclude`. Throws TypeError/RangeError naming the option and the value.
 * `orderBy` is checked against metadata when the ordering is resolved.
 */
export function validateAdapterOptions(options: AiteratorOptions<any, any, any, any>): void {
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) {
      throw new TypeError(
        `aiterator(): unknown option ${describeValue(key)}. Accepted options: ${[...KNOWN_OPTIONS].join(', ')}`,
      )
    }
  }
  const { where, offset, strategy = 'auto', loadStrategy, after } = options
  if ((LOAD_STRATEGIES as readonly unknown[]).includes(strategy)) {
    throw new RangeError(
      `strategy must be one of 'auto', 'keyset', 'cursor'; received ${describeValue(strategy)}. MikroORM's load strategy is the loadStrategy option here`,
    )
  }
  assertOneOf('strategy', strategy, ITERATION_STRATEGIES)
  if (offset !== undefined) assertNonNegativeInteger('offset', offset)
  if (loadStrategy !== undefined) assertOneOf('loadStrategy', loadStrategy, LOAD_STRATEGIES)
  if (after !== undefined && typeof after !== 'string') {
    throw new TypeError(
      `after must be a resume token string (the cursor reported by onProgress); received ${describeValue(after)} (${typeof after})`,
    )
  }
  // em.find also takes a primary key value (or a list of them) as its condition
  if (where !== undefined && (where === null || !['object', 'string', 'number', 'bigint'].includes(typeof where))) {
    throw new TypeError(
      `where must be a filter object like { price: { $gt: 10 } } (or a primary key value, as in em.find); received ${describeValue(where)} (${typeof where})`,
    )
  }
  for (const option of ['populate', 'fields', 'exclude'] as const) {
    const value = options[option]
    if (value !== undefined && !Array.isArray(value) && !(option === 'populate' && value === false)) {
      throw new TypeError(
        `${option} must be an array of property paths (like em.find's ${option}); received ${describeValue(value)}`,
      )
    }
  }
}
