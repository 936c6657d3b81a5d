import { type ChunkSource, encodeResumeToken, type KeyShape, seekPredicate } from '@batchyield/batch-core'
import { Utils } from '@mikro-orm/core'
import { chunkEntityManager, contextEntityManager } from './chunk-entity-manager.js'
import type { KeysetOrdering } from './keyset-ordering.js'
import { andWhere, type QuerySpec } from './query-spec.js'
import { toSeekFilter } from './seek-filter.js'

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
  let lastValues = after
  let first = true

  return {
    async next(size, signal) {
      const predicate = lastValues === undefined ? undefined : seekPredicate(ordering.keys, lastValues)
      if (predicate?.kind === 'false') return { items: [], done: true }
      const fork = chunkEntityManager(base)
      const where = andWhere(spec.where, predicate && toSeekFilter(predicate))
      const items = await fork.find(spec.entityName, where, {
        ...options,
        orderBy: [...ordering.orderBy],
        limit: size,
        offset: first ? spec.offset : undefined,
        signal,
      } as object)
      first = false
      const last = items.at(-1)
      if (last !== undefined) lastValues = keyValues(last, fields, spec.meta.className)
      return { items, done: items.length < size }
    },
    close() {},
    cursorOf(item) {
      return encodeResumeToken(shape, keyValues(item, fields, spec.meta.className))
    },
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
