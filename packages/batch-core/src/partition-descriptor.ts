import { crc32 } from './crc32.js'
import { InvalidPartitionError, InvalidResumeTokenError } from './errors.js'
import { assertKeysetBound, type KeysetBound, type KeysetRange, rangePredicate } from './keyset-range.js'
import type { KeyShape } from './keyset-types.js'
import { decodeResumeToken, encodeResumeToken } from './resume-token.js'
import { describeValue } from './validate.js'

/** The descriptor format this version writes and reads. */
export const PARTITION_FORMAT = 'batchyield.partition/1'

/**
 * What a partition descriptor is tied to: the ordering and entity (as a resume token is) and the
 * adapter's canonical text of everything else that decides which rows the query returns (its
 * conditions and their parameters).
 *
 * @example
 * ```ts
 * const query: PartitionQuery = {
 *   shape: { keys: [{ field: 'id', direction: 'asc', nulls: 'last', nullable: false }], fingerprint: 'typeorm:events' },
 *   conditions: 'WHERE "e"."kind" = :kind {"kind":"purchase"}',
 * }
 * ```
 */
export interface PartitionQuery {
  readonly shape: KeyShape
  readonly conditions: string
}

/**
 * A bound inside a descriptor: the key values as a resume token of the ordering (`after`), or of
 * its first `keys` sort keys (`at`), so that any value type a token carries survives JSON.
 */
export type EncodedBound = { readonly after: string } | { readonly at: string; readonly keys: number }

/**
 * One of the contiguous ranges an adapter's `partitions()` splits a query into: plain JSON, to be
 * sent to another process (a job queue's payload) and passed back as the `partition` option of the
 * same query there. Between them, the `count` descriptors of one call hold every row of the query
 * exactly once.
 *
 * @example
 * ```ts
 * const parts = await partitions(qb, 8)                // PartitionDescriptor[]
 * await queue.addBulk(parts.map((p) => ({ name: 'backfill', data: p })))
 * // in a worker, with the same query:
 * for await (const batch of qb.aiterator({ batchYieldSize: 500, partition: job.data })) …
 * ```
 */
export interface PartitionDescriptor {
  readonly format: typeof PARTITION_FORMAT
  /** 8 hex digits: a hash of the entity, the ordering and the conditions. */
  readonly query: string
  /** 0 to count - 1, in the ordering's order. */
  readonly index: number
  readonly count: number
  /** Rows at or after this position; null: from the first row. */
  readonly from: EncodedBound | null
  /** Rows before this position; null: to the last row. */
  readonly to: EncodedBound | null
  /** 8 hex digits: a checksum of the fields above, so an altered descriptor is refused. */
  readonly check: string
}

/**
 * The descriptors of the ranges between `cuts` (positions in the ordering, in order): the first
 * range from the start to `cuts[0]`, …, the last from the last cut to the end; `cuts.length + 1`
 * descriptors in all.
 *
 * @example
 * ```ts
 * import { describePartitions } from '@batchyield/batch-core'
 *
 * const shape = { keys: [{ field: 'id', direction: 'asc', nulls: 'last', nullable: false }], fingerprint: 'events' } as const
 * const parts = describePartitions({ shape, conditions: '' }, [{ at: [1000] }, { at: [2000] }])
 * // three partitions: id < 1000, 1000 <= id < 2000, id >= 2000
 * ```
 */
export function describePartitions(query: PartitionQuery, cuts: readonly KeysetBound[]): PartitionDescriptor[] {
  cuts.forEach((cut, i) => assertKeysetBound(`cuts[${i}]`, query.shape.keys, cut))
  const id = queryId(query)
  const count = cuts.length + 1
  return Array.from({ length: count }, (_, index) => {
    const from = index === 0 ? null : encodeBound(query.shape, cuts[index - 1]!)
    const to = index === cuts.length ? null : encodeBound(query.shape, cuts[index]!)
    return {
      format: PARTITION_FORMAT,
      query: id,
      index,
      count,
      from,
      to,
      check: checksum([PARTITION_FORMAT, id, index, count, from, to]),
    }
  })
}

/**
 * The range a descriptor stands for, after checking that it was made by `describePartitions` for
 * this query and is intact. Throws {@link InvalidPartitionError} (a TypeError) naming what is wrong:
 * not a descriptor, another format version, altered, or made for another entity, ordering or
 * conditions.
 *
 * @example
 * ```ts
 * import { describePartitions, partitionRange } from '@batchyield/batch-core'
 *
 * const query = { shape: { keys: [{ field: 'id', direction: 'asc', nulls: 'last' }], fingerprint: 'events' }, conditions: '' } as const
 * const [, second] = describePartitions(query, [{ at: [1000] }])
 * partitionRange(JSON.parse(JSON.stringify(second)), query) // { from: { at: [1000] }, to: undefined }
 * ```
 */
export function partitionRange(descriptor: unknown, query: PartitionQuery): KeysetRange {
  const d = assertDescriptorShape(descriptor)
  if (d.format !== PARTITION_FORMAT) {
    throw new InvalidPartitionError(
      `partition has format ${describeValue(d.format)}, but this version of batchyield reads ${describeValue(PARTITION_FORMAT)}; partition the query again with this version`,
    )
  }
  if (checksum([d.format, d.query, d.index, d.count, d.from, d.to]) !== d.check) {
    throw new InvalidPartitionError(
      'partition is damaged: its fields do not match its check (altered or cut); pass the descriptor exactly as partitions() returned it',
    )
  }
  if (d.query !== queryId(query)) {
    const sameOrdering = [d.from, d.to].some((bound) => bound !== null && decodesWith(bound, query.shape))
    const differs = sameOrdering
      ? 'the same entity and ordering, but other conditions or parameters'
      : 'another entity or ordering'
    throw new InvalidPartitionError(
      `partition ${d.index + 1} of ${d.count} was made for a different query (${differs}); a descriptor only iterates the query that partitions() split. Build the same query (same conditions, parameters and order) in the worker, or partition this one`,
    )
  }
  try {
    return {
      from: d.from === null ? undefined : decodeBound(d.from, query.shape),
      to: d.to === null ? undefined : decodeBound(d.to, query.shape),
    }
  } catch (error) {
    if (!(error instanceof InvalidResumeTokenError)) throw error
    throw new InvalidPartitionError(
      `partition ${d.index + 1} of ${d.count} has a bound that cannot be read (${error.message})`,
      { cause: error },
    )
  }
}

/**
 * The position options an adapter accepts, resolved to a range over `shape`: `from`/`to` as a
 * resume token (a position right after a row: `to` then ends with that row), as values of the
 * leading sort keys (`{ at }`), or as a {@link KeysetBound}; or a `partition` descriptor, which sets
 * both. Undefined when none is given. Throws at the call, before any query: TypeError/RangeError for
 * malformed values, `InvalidResumeTokenError` for a token of another query, `InvalidPartitionError`
 * for a descriptor of another query. `conditions` is only called for a descriptor.
 *
 * @example
 * ```ts
 * import { resolveRangeOptions } from '@batchyield/batch-core'
 *
 * const shape = { keys: [{ field: 'id', direction: 'asc', nulls: 'last', nullable: false }], fingerprint: 'events' } as const
 * resolveRangeOptions({ from: [1000], to: [2000] }, shape, () => '') // { from: { at: [1000] }, to: { at: [2000] } }
 * ```
 */
export function resolveRangeOptions(
  options: RangeOptions,
  shape: KeyShape,
  conditions: () => string,
): KeysetRange | undefined {
  const { from, to, partition } = options
  if (partition !== undefined) {
    if (from !== undefined || to !== undefined) {
      throw new TypeError('partition sets where the run starts and stops; give either partition or from/to, not both')
    }
    return partitionRange(partition, { shape, conditions: conditions() })
  }
  if (from === undefined && to === undefined) return undefined
  const range: KeysetRange = {
    from: from === undefined ? undefined : positionOption('from', from, shape),
    to: to === undefined ? undefined : positionOption('to', to, shape),
  }
  rangePredicate(shape.keys, range) // checks the values against the keys now, not at the first query
  return range
}

/** The options {@link resolveRangeOptions} reads, as both adapters spell them. */
export interface RangeOptions {
  /**
   * Start here: a resume token (right after the row it was reported for), values of the leading
   * sort keys (the first row at or after them), or a {@link KeysetBound}.
   */
  readonly from?: string | readonly unknown[] | KeysetBound | undefined
  /**
   * Stop here: a resume token (the row it was reported for is the last one), values of the leading
   * sort keys (the last row before them), or a {@link KeysetBound}.
   */
  readonly to?: string | readonly unknown[] | KeysetBound | undefined
  /** A descriptor from `partitions()` of the same query: sets `from` and `to`. */
  readonly partition?: PartitionDescriptor | undefined
}

function positionOption(option: 'from' | 'to', value: unknown, shape: KeyShape): KeysetBound {
  if (typeof value === 'string') return { after: decodeResumeToken(value, shape) }
  if (Array.isArray(value)) return { at: value }
  if (value !== null && typeof value === 'object') return value as KeysetBound // checked by rangePredicate
  throw new TypeError(
    `${option} must be a resume token (a string), an array of values of the leading sort keys, or { after } / { at }; received ${describeValue(value)} (${value === null ? 'null' : typeof value})`,
  )
}

function encodeBound(shape: KeyShape, bound: KeysetBound): EncodedBound {
  if ('after' in bound) return { after: encodeResumeToken(shape, bound.after) }
  return { at: encodeResumeToken(prefixShape(shape, bound.at.length), bound.at), keys: bound.at.length }
}

function decodeBound(bound: EncodedBound, shape: KeyShape): KeysetBound {
  if ('after' in bound) return { after: decodeResumeToken(bound.after, shape) }
  return { at: decodeResumeToken(bound.at, prefixShape(shape, bound.keys)) }
}

function decodesWith(bound: EncodedBound, shape: KeyShape): boolean {
  try {
    decodeBound(bound, shape)
    return true
  } catch {
    return false
  }
}

/** The shape of the first `length` keys: an `at` bound's token is tied to them. */
function prefixShape(shape: KeyShape, length: number): KeyShape {
  if (!Number.isSafeInteger(length) || length < 1 || length > shape.keys.length) {
    throw new InvalidResumeTokenError(
      `the bound names ${describeValue(length)} leading sort keys; this ordering has ${shape.keys.length}`,
    )
  }
  return { keys: shape.keys.slice(0, length), fingerprint: shape.fingerprint }
}

function queryId(query: PartitionQuery): string {
  return checksum([
    query.shape.fingerprint,
    query.shape.keys.map((k) => [k.field, k.direction, k.nulls]),
    query.conditions,
  ])
}

function checksum(parts: readonly unknown[]): string {
  return crc32(new TextEncoder().encode(JSON.stringify(parts)))
    .toString(16)
    .padStart(8, '0')
}

/** Type checks of a received descriptor, field by field. */
function assertDescriptorShape(value: unknown): PartitionDescriptor {
  const fail = (what: string): never => {
    throw new InvalidPartitionError(
      `partition must be a descriptor returned by partitions() (plain JSON, as it came back from JSON.parse); ${what}`,
    )
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(`received ${describeValue(value)}`)
  const d = value as Record<string, unknown>
  if (typeof d.format !== 'string') fail(`its format is ${describeValue(d.format)}`)
  for (const field of ['query', 'check'] as const)
    if (typeof d[field] !== 'string') fail(`its ${field} is ${describeValue(d[field])}`)
  for (const field of ['index', 'count'] as const)
    if (!Number.isSafeInteger(d[field]) || (d[field] as number) < 0) fail(`its ${field} is ${describeValue(d[field])}`)
  for (const field of ['from', 'to'] as const) {
    const bound = d[field]
    if (bound === null) continue
    const b = bound as Record<string, unknown> | undefined
    const ok =
      typeof b === 'object' &&
      ((typeof b.after === 'string' && b.at === undefined) ||
        (typeof b.at === 'string' && typeof b.keys === 'number' && b.after === undefined))
    if (!ok) fail(`its ${field} is ${describeValue(bound)}`)
  }
  return d as unknown as PartitionDescriptor
}
