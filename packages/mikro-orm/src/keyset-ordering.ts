import { describeValue, type KeyDialect, type SortKey } from '@batchyield/batch-core'
import {
  type EntityMetadata,
  type EntityProperty,
  type Platform,
  QueryOrderNumeric,
  ReferenceKind,
  Utils,
} from '@mikro-orm/core'
import { isRawKey, objectQueryKeys } from './internals.js'
import { type KeyColumn, keyColumn } from './key-columns.js'

/** One entry of an ordering, as `em.find` takes it: `{ [property]: direction }`. */
export type OrderEntry = Record<string | symbol, unknown>

/** An ordering the keyset strategy can follow: the sort keys and the `orderBy` that sorts by them. */
export interface KeysetOrdering {
  readonly supported: true
  readonly keys: readonly SortKey[]
  /** How each key (same positions as `keys`) is sought exactly. */
  readonly columns: readonly KeyColumn[]
  /** The user's ordering, then the entity's default ordering, then the primary key, as `em.find` entries. */
  readonly orderBy: readonly OrderEntry[]
  /** Lazy scalar sort properties that must be populated so their values can be read. */
  readonly lazyFields: readonly string[]
}

/** An ordering keyset cannot follow, with the reason (used in error messages). */
export interface UnsupportedOrdering {
  readonly supported: false
  readonly reason: string
  /** The user's ordering with the primary key appended (what the cursor strategy sorts by). */
  readonly orderBy: readonly OrderEntry[]
}

const DIRECTIONS = ['asc', 'desc', 'asc nulls first', 'asc nulls last', 'desc nulls first', 'desc nulls last'] as const

/**
 * Resolves `orderBy` (plus the entity's default ordering and the primary key as tie-breaker)
 * into sort keys from metadata. Keys are property names of the root entity; NULL placement is
 * the one asked for (`'asc nulls first'`…) where the platform supports it, else the database's
 * default (PostgreSQL: NULLs sort highest, MariaDB/MySQL: lowest). Each key's column type gets
 * its rule from batch-core's table for `dialect`; a type it refuses makes the ordering unsupported.
 * Throws TypeError/RangeError for an ordering that `em.find` would reject too (unknown property,
 * bad direction).
 */
export function resolveOrdering(
  meta: EntityMetadata,
  platform: Platform,
  orderBy: unknown,
  dialect: KeyDialect,
): KeysetOrdering | UnsupportedOrdering {
  const entries = [
    ...normalizeOrderBy(orderBy),
    ...normalizeOrderBy(meta.orderBy, 'the default orderBy of ' + meta.className),
  ]
  const seen = new Set<string | symbol>()
  const merged: OrderEntry[] = []
  for (const entry of entries) {
    for (const key of objectQueryKeys(entry)) {
      if (seen.has(key)) continue
      seen.add(key)
      merged.push({ [key]: entry[key] })
    }
  }

  const keys: SortKey[] = []
  const lazyFields: string[] = []
  let reason: string | undefined
  for (const entry of merged) {
    const key = objectQueryKeys(entry)[0]!
    const direction = entry[key]
    if (typeof key === 'symbol' || isRawKey(key)) {
      reason ??= 'it orders by a raw SQL expression'
      continue
    }
    const prop = meta.properties[key] as EntityProperty | undefined
    if (!prop) {
      if (key.includes('.')) {
        reason ??= `it orders by the relation path ${describeValue(key)}`
        continue
      }
      throw new TypeError(
        `orderBy: ${describeValue(key)} is not a property of ${meta.className}; received ${describeValue(orderBy)}. Known properties: ${Object.keys(meta.properties).join(', ')}`,
      )
    }
    if (Utils.isPlainObject(direction)) {
      reason ??= `it orders by properties of the relation ${describeValue(key)}`
      continue
    }
    const parsed = parseDirection(key, direction, platform, dialect)
    const unsupported = unsupportedProperty(prop)
    if (unsupported) {
      reason ??= unsupported
      continue
    }
    if (prop.lazy) lazyFields.push(prop.name)
    keys.push({ field: prop.name, direction: parsed.direction, nulls: parsed.nulls, nullable: prop.nullable === true })
  }

  // The primary key makes the order total; properties after a complete primary key change nothing.
  // It follows the direction of the last sort key, so a (column, id) index can serve the whole
  // order in one scan direction (MariaDB/MySQL otherwise sort every seek's range: a filesort).
  const tieDirection = lastDirection(merged.at(-1))
  const orderByWithPk = [...merged]
  for (const pk of meta.primaryKeys) {
    if (!seen.has(pk)) orderByWithPk.push({ [pk]: tieDirection })
  }
  for (const pk of meta.primaryKeys) {
    const prop = meta.properties[pk] as EntityProperty
    if (prop.kind !== ReferenceKind.SCALAR) reason ??= `its primary key ${describeValue(pk)} is a relation`
  }
  if (reason !== undefined) return { supported: false, reason, orderBy: orderByWithPk }

  const pkKeys = meta.primaryKeys.filter((pk) => !keys.some((k) => k.field === pk))
  const allKeys: SortKey[] = [
    ...keys,
    ...pkKeys.map((pk): SortKey => ({
      field: pk,
      direction: tieDirection,
      nulls: tieDirection === 'asc' ? 'last' : 'first',
      nullable: false,
    })),
  ]
  const lastPk = Math.max(...meta.primaryKeys.map((pk) => allKeys.findIndex((k) => k.field === pk)))
  const total = allKeys
    .slice(0, lastPk + 1)
    .map((k) => (meta.primaryKeys.includes(k.field) ? { ...k, nullable: false } : k))
  const columns: KeyColumn[] = []
  for (const key of total) {
    const column = keyColumn(meta.properties[key.field] as EntityProperty, platform, dialect)
    if ('kind' in column) {
      const reason = `it orders by ${meta.className}.${key.field}, a ${column.type} column, which keyset cannot seek on (${column.reason}): order by a property of another type`
      return { supported: false, reason, orderBy: orderByWithPk }
    }
    columns.push(column)
  }
  const sortedBy = orderByWithPk.filter((entry) => total.some((k) => k.field === objectQueryKeys(entry)[0]))
  return { supported: true, keys: total, columns, orderBy: sortedBy, lazyFields }
}

/** The direction of an ordering's last term (`{ author: { name: 'desc' } }` included); 'asc' without one. */
function lastDirection(entry: OrderEntry | undefined): 'asc' | 'desc' {
  let value: unknown = entry
  while (Utils.isPlainObject(value)) {
    const keys = objectQueryKeys(value as object)
    if (keys.length === 0) return 'asc'
    value = (value as Record<string | symbol, unknown>)[keys.at(-1)!]
  }
  return value === QueryOrderNumeric.DESC ||
    (typeof value === 'string' && value.trim().toLowerCase().startsWith('desc'))
    ? 'desc'
    : 'asc'
}

/** `em.find` accepts one `{ prop: dir }` object or an array of them. */
function normalizeOrderBy(orderBy: unknown, option = 'orderBy'): OrderEntry[] {
  if (orderBy === undefined || orderBy === null) return []
  const list = Array.isArray(orderBy) ? orderBy : [orderBy]
  list.forEach((entry: unknown, i) => {
    if (!Utils.isPlainObject(entry)) {
      const at = Array.isArray(orderBy) ? `${option}[${i}]` : option
      throw new TypeError(
        `${at} must be an object like { createdAt: 'desc' } (or an array of them); received ${describeValue(entry)}`,
      )
    }
  })
  return list as OrderEntry[]
}

function parseDirection(
  key: string,
  direction: unknown,
  platform: Platform,
  dialect: KeyDialect,
): Pick<SortKey, 'direction' | 'nulls'> {
  const text =
    direction === QueryOrderNumeric.ASC
      ? 'asc'
      : direction === QueryOrderNumeric.DESC
        ? 'desc'
        : typeof direction === 'string'
          ? direction.toLowerCase().trim().replace(/\s+/g, ' ')
          : undefined
  if (text === undefined || !(DIRECTIONS as readonly string[]).includes(text)) {
    const accepted = `${DIRECTIONS.map((d) => `'${d}'`).join(', ')} (any case), 1 or -1`
    const Err = text === undefined ? TypeError : RangeError
    throw new Err(`orderBy.${key} must be one of ${accepted}; received ${describeValue(direction)}`)
  }
  const desc = text.startsWith('desc')
  if (text.includes('nulls') && supportsNullsOrdering(platform)) {
    return { direction: desc ? 'desc' : 'asc', nulls: text.endsWith('first') ? 'first' : 'last' }
  }
  // The database's own placement: PostgreSQL treats NULL as the highest value, MariaDB/MySQL as the lowest.
  const lowest = sortsNullsLowest(platform, dialect)
  return { direction: desc ? 'desc' : 'asc', nulls: lowest !== desc ? 'first' : 'last' }
}

/** Whether `'… nulls first/last'` is honoured (`Platform.supportsNullsOrdering`, from MikroORM 7.2; before, every SQL platform writes or emulates it). */
function supportsNullsOrdering(platform: Platform): boolean {
  const own = (platform as Partial<Pick<Platform, 'supportsNullsOrdering'>>).supportsNullsOrdering
  return own === undefined ? true : own.call(platform)
}

/** Where NULLs land without a placement (`Platform.sortsNullsLowest`, from MikroORM 7.2; before, the database's rule). */
function sortsNullsLowest(platform: Platform, dialect: KeyDialect): boolean {
  const own = (platform as Partial<Pick<Platform, 'sortsNullsLowest'>>).sortsNullsLowest
  return own === undefined ? dialect !== 'postgresql' : own.call(platform)
}

function unsupportedProperty(prop: EntityProperty): string | undefined {
  if (prop.kind === ReferenceKind.EMBEDDED) return `it orders by the embedded property ${describeValue(prop.name)}`
  if (prop.kind !== ReferenceKind.SCALAR) return `it orders by the relation ${describeValue(prop.name)}`
  if (prop.formula) return `it orders by the formula property ${describeValue(prop.name)}`
  if (prop.persist === false) return `it orders by the non-persistent property ${describeValue(prop.name)}`
  return undefined
}
