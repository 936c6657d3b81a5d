import { type ChunkSource, encodeResumeToken, type KeyShape } from '@batchyield/batch-core'
import { Utils } from '@mikro-orm/core'
import { chunkEntityManager, contextEntityManager } from './chunk-entity-manager.js'
import { connectionLostError, isConnectionLost } from './connection-lost.js'
import { exactSortValues } from './exact-sort-values.js'
import type { KeysetOrdering } from './keyset-ordering.js'
import { andWhere, type QuerySpec } from './query-spec.js'
import { findInSlices } from './find-in-slices.js'
import { type SeekRegion, seekRegions } from './seek-filter.js'

/**
 * Keyset strategy: each chunk is `fork.find(Entity, { $and: [where, seek] }, { orderBy, limit })`
 * in a fresh fork, where `seek` selects the rows after the last row's sort key. Nothing is held
 * between chunks (no connection, no transaction), so the caller may query and flush in the loop.
 *
 * `after` holds the decoded key values of a resume token: the first chunk starts after them.
 */
export function openKeysetSource(spec: QuerySpec, ordering: KeysetOrdering, shape: KeyShape, after: readonly unknown[] | undefined): ChunkSource<object> {
  const base = contextEntityManager(spec.em)
  const options = withSortFieldsLoaded(spec.findOptions, ordering)
  const fields = ordering.keys.map((k) => k.field)
  // PostgreSQL reads a `k IS NULL` range in order only when k stays in the ORDER BY
  const keepNullKeyInOrder = base.getDriver().getDependencies().includes('pg')
  const exact = exactSortValues(base, spec.meta, ordering.keys, spec.findOptions.schema as string | undefined)
  // The sort key values, as read (exact timestamps included), of the entities whose resume token
  // onProgress will ask for: the loop body may change an entity before its token is taken. Only
  // those entities get an entry (one per batch), so per-row cost stays with MikroORM's hydration.
  const keysOf = new WeakMap<object, readonly unknown[]>()
  let lastValues = after
  let first = true
  let read = 0
  /** The chunk's last row (the next seek) and the rows that end a batch (resume tokens). */
  const exactPositions = (count: number): number[] => {
    const positions: number[] = []
    const every = spec.progressEvery
    if (every !== undefined) {
      for (let i = (every - (read % every) - 1 + every) % every; i < count - 1; i += every) positions.push(i)
    }
    if (count > 0) positions.push(count - 1)
    return positions
  }

  const valuesAt = (items: readonly object[], positions: readonly number[]): unknown[][] =>
    positions.map((position) => keyValues(items[position]!, fields, spec.meta.className))

  const readChunk = async (size: number, signal: AbortSignal) => {
    // the first chunk starts at the beginning; later ones read the index regions after the last row in turn
    const regions: (SeekRegion | undefined)[] = lastValues === undefined ? [undefined] : seekRegions(ordering.keys, lastValues)
    if (regions.length === 0) return undefined
    const fork = chunkEntityManager(base)
    const items: object[] = []
    for (const region of regions) {
      if (items.length === size) break
      // MariaDB/MySQL sort a `k IS NULL` range again (filesort) while k is in the ORDER BY; it is constant there
      const orderBy = region?.firstKeyIsNull && !keepNullKeyInOrder ? ordering.orderBy.slice(1) : ordering.orderBy
      const found = await findInSlices(fork, spec.entityName, andWhere(spec.where, region?.filter), {
        ...options,
        orderBy: [...orderBy],
        limit: size - items.length,
        offset: first ? spec.offset : undefined,
        signal,
      })
      items.push(...found)
    }
    return { items, fork }
  }

  return {
    async next(size, signal) {
      try {
        return await nextChunk(size, signal)
      } catch (error) {
        if (!isConnectionLost(error) || signal.aborted) throw error
        throw connectionLostError(
          error,
          `The keyset strategy lost its database connection while reading the chunk after ${read} rows (the session was terminated or the connection dropped): ${error.message}. ` +
            'Nothing is held between chunks and the pool replaces the connection: run again with after set to the last onProgress cursor to continue after the last batch you finished',
        )
      }
    },
    close() {},
    cursorOf(item) {
      return encodeResumeToken(shape, keysOf.get(item) ?? keyValues(item, fields, spec.meta.className))
    },
  }

  async function nextChunk(size: number, signal: AbortSignal): Promise<{ items: object[]; done: boolean }> {
    let chunk = await readChunk(size, signal)
    if (chunk === undefined) return { items: [], done: true }
    let positions = exactPositions(chunk.items.length)
    let values = valuesAt(chunk.items, positions)
    if (exact !== undefined) {
      // A row whose timestamp changed between the two reads (a concurrent write) makes the
      // chunk be read again; after a few tries the hydrated Dates are used as they are.
      for (let attempt = 1; ; attempt++) {
        const exactValues = await exact.read(chunk.fork, chunk.items, positions, values, signal)
        if (exactValues !== undefined) values = exactValues
        if (exactValues !== undefined || attempt === 3) break
        chunk = (await readChunk(size, signal))!
        positions = exactPositions(chunk.items.length)
        values = valuesAt(chunk.items, positions)
      }
    }
    first = false
    read += chunk.items.length
    positions.forEach((position, n) => keysOf.set(chunk.items[position]!, values[n]!))
    if (values.length > 0) lastValues = values.at(-1)
    return { items: chunk.items, done: chunk.items.length < size }
  }
}

/** The sort key values of a loaded entity, in key order. */
export function keyValues(entity: object, fields: readonly string[], className: string): unknown[] {
  return fields.map((field) => {
    let value = (entity as Record<string, unknown>)[field]
    if (Utils.isScalarReference(value)) value = value.unwrap()
    if (value === undefined) {
      throw new Error(`@batchyield/mikro-orm: sort property ${className}.${field} was not loaded, so the next chunk cannot be positioned`)
    }
    return value
  })
}

/**
 * The seek condition needs every sort property's value: add them to a partial `fields`, take them
 * out of `exclude`, and populate lazy ones. This only widens what is loaded.
 */
function withSortFieldsLoaded(findOptions: Readonly<Record<string, unknown>>, ordering: KeysetOrdering): Record<string, unknown> {
  const options: Record<string, unknown> = { ...findOptions }
  const sortFields = ordering.keys.map((k) => k.field)
  if (Array.isArray(options.fields)) {
    const fields = options.fields as string[]
    options.fields = [...fields, ...sortFields.filter((f) => !fields.includes(f))]
  }
  if (Array.isArray(options.exclude)) {
    options.exclude = (options.exclude as string[]).filter((f) => !sortFields.includes(f))
  }
  if (ordering.lazyFields.length > 0) {
    const populate = Array.isArray(options.populate) ? (options.populate as string[]) : []
    options.populate = [...populate, ...ordering.lazyFields.filter((f) => !populate.includes(f))]
  }
  return options
}
