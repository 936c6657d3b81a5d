import {
  ChunkTimeoutError,
  type ChunkSource,
  type KeysetRange,
  encodeResumeToken,
  isExactKeyValue,
  KeysetProgress,
  type KeyShape,
  keyValueKind,
  ReadAheadRows,
  type RowLoad,
} from '@batchyield/batch-core'
import {
  type EntityManager,
  type EntityMetadata,
  type EntityProperty,
  helper,
  type Platform,
  raw,
  Utils,
} from '@mikro-orm/core'
import { chunkEntityManager, contextEntityManager } from './chunk-entity-manager.js'
import { connectionLostError, isConnectionLost } from './connection-lost.js'
import { exactSortValues } from './exact-sort-values.js'
import type { KeysetOrdering } from './keyset-ordering.js'
import { chunkStatements } from './chunk-statements.js'
import { andWhere, type QuerySpec } from './query-spec.js'
import { createInSlices, findInSlices, nextTurn, type PlainFind, planPlainFind } from './find-in-slices.js'
import { type CompareKey, regionsFor, type SeekRegion } from './seek-filter.js'

/**
 * Keyset strategy: each chunk is `fork.find(Entity, { $and: [where, seek] }, { orderBy, limit })`
 * in a fresh fork, where `seek` selects the rows after the last row's sort key. Nothing is held
 * between chunks (no connection, no transaction), so the caller may query and flush in the loop.
 *
 * A plain read (nothing populated, every sort key exact as hydrated) runs em.find's two halves itself: the
 * driver's query for the rows, then the entities (`createInSlices`). That lets the next chunk's
 * query go out before this chunk's entities are created when the caller asked for read-ahead
 * (`prefetch` >= 1): its seek position is this chunk's last row, converted as MikroORM hydrates it.
 * The first chunk checks that conversion against its entities, row by row; where they differ
 * (a custom type, an `onInit` hook that changes a sort property) the run seeks from entity values
 * and reads nothing ahead.
 *
 * Keys whose hydrated values are not exact (see {@link exactSortValues}) are read exactly after
 * each chunk and compared as raw column expressions. Every chunk's rows go through a
 * `KeysetProgress`, which stops the run if a chunk repeats a row of the previous one.
 *
 * `after` holds the decoded key values of a resume token: the first chunk starts after them.
 */
export function openKeysetSource(
  spec: QuerySpec,
  ordering: KeysetOrdering,
  shape: KeyShape,
  after: readonly unknown[] | undefined,
  range?: KeysetRange,
): ChunkSource<object> {
  const base = contextEntityManager(spec.em)
  const options = withSortFieldsLoaded(spec.findOptions, ordering)
  const fields = ordering.keys.map((k) => k.field)
  // PostgreSQL reads a `k IS NULL` range in order only when k stays in the ORDER BY
  const keepNullKeyInOrder = base.getDriver().getDependencies().includes('pg')
  const abortStrategy = killQueryOnAbort(base, spec.findOptions) ? { inflightQueryAbortStrategy: 'cancel query' } : {}
  const exact = exactSortValues(
    base,
    spec.meta,
    ordering.keys,
    ordering.columns,
    spec.findOptions.schema as string | undefined,
  )
  const compareKey = compareKeys(spec.meta, ordering, base.getPlatform())
  const progress = new KeysetProgress(`${spec.meta.className} ordered by ${fields.join(', ')}`)
  const identity = entityIdentity(fields, spec.meta.className)
  const identityOfRow = rowIdentity(fields)
  // The sort key values, as read (exact timestamps included), of the entities whose resume token
  // onProgress will ask for: the loop body may change an entity before its token is taken. Only
  // those entities get an entry (one per batch), so per-row cost stays with MikroORM's hydration.
  const keysOf = new WeakMap<object, readonly unknown[]>()
  let lastValues = after
  let first = true
  let read = 0
  // outside a transaction an abort cancels the statement in flight (see chunkStatements)
  const statements = chunkStatements(base, spec.chunkTimeoutMs)
  /** Plain reads: the rows and their entities' create options; undefined until the first chunk decides, null for em.find per chunk. */
  let plain: PlainRows | null | undefined = exact === undefined ? undefined : null
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

  const toBound = boundValues(spec.meta, ordering, base.getPlatform())
  /** The index regions after the last row (the first chunk starts at the beginning), inside the range (`from`/`to`/`partition`) when there is one. */
  const regionsAfter = (values: readonly unknown[] | undefined): (SeekRegion | undefined)[] =>
    regionsFor(ordering.keys, values, range, toBound, compareKey)

  /** em.find's options for one region's query. */
  const regionOptions = (
    region: SeekRegion | undefined,
    limit: number,
    signal: AbortSignal | undefined,
  ): Record<string, unknown> => {
    // MariaDB/MySQL sort a `k IS NULL` range again (filesort) while k is in the ORDER BY; it is constant there
    const orderBy = region?.firstKeyIsNull && !keepNullKeyInOrder ? ordering.orderBy.slice(1) : ordering.orderBy
    return {
      ...options,
      ...abortStrategy,
      orderBy: [...orderBy],
      limit,
      offset: first ? spec.offset : undefined,
      signal,
    }
  }

  const readChunk = async (size: number, signal: AbortSignal) => {
    const regions = regionsAfter(lastValues)
    if (regions.length === 0) return undefined
    const fork = chunkEntityManager(base)
    const items: object[] = []
    // em.find's queries (populate included) on the chunk statements' context: an abort cancels the one in flight
    await statements.on(fork, signal, async () => {
      for (const region of regions) {
        if (items.length === size) break
        signal.throwIfAborted() // after an abort nothing new is sent
        const statement = statements.bounded(signal)
        items.push(
          ...(await statement.run(() =>
            findInSlices(
              fork,
              spec.entityName,
              andWhere(spec.where(), region?.filter),
              regionOptions(region, size - items.length, statement.signal),
            ),
          )),
        )
      }
    })
    return { items, fork }
  }

  /** Plain reads: the mapped rows of the next `size` entities after the last row loaded; moves `lastValues` past them when seeking from rows. */
  const loadRows = async (size: number, signal: AbortSignal | undefined): Promise<RowLoad<object>> => {
    const regions = regionsAfter(lastValues)
    const rows: object[] = []
    const fork = chunkEntityManager(base) // plans and queries; the entities are created in another
    const ctx = fork.getTransactionContext() ?? (await statements.context(fork, signal))
    for (const region of regions) {
      if (rows.length === size) break
      signal?.throwIfAborted() // after an abort nothing new is sent
      const statement = statements.bounded(signal)
      const find = await planPlainFind(
        fork,
        spec.entityName,
        andWhere(spec.where(), region?.filter),
        regionOptions(region, size - rows.length, statement.signal),
      )
      if (find === undefined) throw new Error('@batchyield/mikro-orm: a keyset chunk stopped being a plain read')
      const found = (await statement.run(() =>
        fork.getDriver().find(spec.entityName, find.condition, { ctx, em: fork, ...find.query } as never),
      )) as object[]
      // rows repeating an entity (none come from MikroORM's SELECTs with a limit today) would merge into it on creation, as in em.find
      rows.push(...found)
    }
    progress.check(rows.map(identityOfRow))
    first = false
    if (plain?.rowsSeek && rows.length > 0) lastValues = rowKey(rows.at(-1)!)
    return { rows, exhausted: rows.length < size }
  }

  const platform = base.getPlatform()
  /** A row's sort key as the hydrator converts it (custom types), to seek from before its entity exists. */
  const rowKey = (row: object): unknown[] =>
    fields.map((field) => {
      const value = (row as Record<string, unknown>)[field]
      const type = (spec.meta.properties[field] as EntityProperty).customType
      return value === null || value === undefined || type === undefined
        ? value
        : type.convertToJSValue(value, platform)
    })

  return {
    async next(size, signal) {
      try {
        return await nextChunk(size, signal)
      } catch (error) {
        if (error instanceof ChunkTimeoutError || !isConnectionLost(error) || signal.aborted) throw error
        throw connectionLostError(
          error,
          `The keyset strategy lost its database connection while reading the chunk after ${read} rows (the session was terminated or the connection dropped): ${error.message}. ` +
            'Nothing is held between chunks and the pool replaces the connection: run again with after set to the last onProgress cursor to continue after the last batch you finished',
        )
      }
    },
    async close() {
      await plain?.reader.close()
    },
    /** A chunk read that lost its connection can be read again: the position moves only once a whole chunk (or load) is read. */
    retryable(error) {
      // inside the caller's transaction its connection is the only one: reading again cannot help
      if (base.getTransactionContext() !== undefined) return false
      return (
        error instanceof ChunkTimeoutError ||
        isConnectionLost(error) ||
        isConnectionLost((error as { cause?: unknown } | undefined)?.cause)
      )
    },
    cursorOf(item) {
      return encodeResumeToken(shape, keysOf.get(item) ?? keyValues(item, fields, spec.meta.className))
    },
  }

  async function nextChunk(size: number, signal: AbortSignal): Promise<{ items: object[]; done: boolean }> {
    if (plain === undefined) plain = await planRows(signal)
    if (plain !== null) return nextPlainChunk(plain, size, signal)
    let chunk = await readChunk(size, signal)
    if (chunk === undefined) return { items: [], done: true }
    let positions = exactPositions(chunk.items.length)
    let values = valuesAt(chunk.items, positions)
    if (exact !== undefined) {
      // A row whose key changed between the two reads (a concurrent write) makes the chunk be
      // read again; after a few tries the values read last are used.
      for (let attempt = 1; ; attempt++) {
        const read = await statements.readExact(exact, chunk.fork, chunk.items, positions, values, signal)
        values = read.values
        if (read.current || attempt === 3) break
        chunk = (await readChunk(size, signal))!
        positions = exactPositions(chunk.items.length)
        values = valuesAt(chunk.items, positions)
      }
    }
    progress.check(chunk.items.map(identity))
    first = false
    return taken(chunk.items, positions, values, chunk.items.length < size, true)
  }

  /** Whether this run is a plain read (checked once, on a fresh fork: it depends on the options only). */
  async function planRows(signal: AbortSignal): Promise<PlainRows | null> {
    const find = await planPlainFind(
      chunkEntityManager(base),
      spec.entityName,
      andWhere(spec.where()),
      regionOptions(undefined, spec.chunkSize, signal),
    )
    return find === undefined ? null : { reader: new ReadAheadRows(loadRows), create: find, rowsSeek: false }
  }

  async function nextPlainChunk(
    rows: PlainRows,
    size: number,
    signal: AbortSignal,
  ): Promise<{ items: object[]; done: boolean }> {
    const loaded = await rows.reader.take(size, signal)
    if (loaded.length === 0) return { items: [], done: true }
    const done = rows.reader.drained
    // the read sent ahead asks for what the engine asked for last (its size follows maxChunkBytes)
    if (rows.rowsSeek && spec.readAhead && rows.reader.sendAhead(size, signal)) await nextTurn() // the query goes out
    const items = await createInSlices(chunkEntityManager(base), rows.create, loaded)
    const positions = exactPositions(items.length)
    const values = valuesAt(items, positions)
    assertExact(spec.meta, ordering, platform, values.at(-1))
    const seekFromValues = !rows.rowsSeek
    if (read === 0) {
      // The first chunk: seek from rows from now on if every row's key converts to its entity's.
      rows.rowsSeek =
        items.length === loaded.length &&
        items.every((item, i) => sameKey(rowKey(loaded[i]!), keyValues(item, fields, spec.meta.className)))
    }
    return taken(items, positions, values, done, seekFromValues)
  }

  /** Records a chunk's resume-token values and, when seeking from entity values, its last row's position. */
  function taken(
    items: object[],
    positions: readonly number[],
    values: readonly unknown[][],
    done: boolean,
    seekFromValues: boolean,
  ): { items: object[]; done: boolean } {
    read += items.length
    positions.forEach((position, n) => keysOf.set(items[position]!, values[n]!))
    if (seekFromValues && values.length > 0) lastValues = values.at(-1)
    return { items, done }
  }
}

/**
 * MariaDB/MySQL: an abort (or `chunkTimeoutMs`) ends a chunk statement in flight with `KILL QUERY`
 * of its connection's thread id, sent by MikroORM (Kysely's `'cancel query'`) over a connection of
 * its own, as TypeORM's keyset does; Kysely's default, `'ignore query'`, would leave it running.
 * Not when the caller chose a strategy (in the find options or on the EntityManager, a protected
 * field read here), nor inside the caller's transaction, where the statement is left to finish.
 */
function killQueryOnAbort(em: EntityManager, findOptions: Readonly<Record<string, unknown>>): boolean {
  if (!em.getDriver().getDependencies().includes('mysql2') || em.getTransactionContext() !== undefined) return false
  const chosen =
    findOptions.inflightQueryAbortStrategy ??
    (em as unknown as { inflightQueryAbortStrategy?: unknown }).inflightQueryAbortStrategy
  return chosen === undefined
}

/**
 * The filter key of each sort property: the property itself, or (see `KeyColumn.rawCompare`) a
 * raw comparison of `rule.compare(column)`, so the value is bound as it is (not converted by the
 * property's type) and compared with what `ORDER BY` sorts by.
 */
export function compareKeys(meta: EntityMetadata, ordering: KeysetOrdering, platform: Platform): CompareKey {
  const raws = new Map<string, (alias: string) => string>()
  ordering.keys.forEach((key, i) => {
    const column = ordering.columns[i]!
    const field = (meta.properties[key.field] as EntityProperty).fieldNames[0]!
    if (column.rawCompare)
      raws.set(key.field, (alias) => column.rule.compare(`${alias}.${platform.quoteIdentifier(field)}`))
  })
  // a fresh fragment per use: MikroORM keys a raw filter by the fragment's own symbol
  return (field) => {
    const sql = raws.get(field)
    return sql === undefined ? field : raw(sql)
  }
}

/**
 * The seek values as bound: a key compared raw but sought from its hydrated value gets what a
 * property filter would have bound, the value through its custom type (values read exactly are
 * database values already).
 */
export function boundValues(
  meta: EntityMetadata,
  ordering: KeysetOrdering,
  platform: Platform,
): (values: readonly unknown[]) => readonly unknown[] {
  const converted = ordering.keys.flatMap((key, i) => {
    const type = (meta.properties[key.field] as EntityProperty).customType
    const column = ordering.columns[i]!
    return column.rawCompare && column.hydratedExact && type !== undefined ? [{ i, type }] : []
  })
  if (converted.length === 0) return (values) => values
  return (values) => {
    const bound = [...values]
    // a range's `at` bound holds values of the leading keys only
    for (const { i, type } of converted)
      if (i < bound.length && bound[i] !== null)
        bound[i] = type.convertToDatabaseValue(bound[i], platform, { mode: 'query' })
    return bound
  }
}

/**
 * A mapped row's identity for the progress guard: its sort key values (the primary key last), one
 * value or the list of them. A row another session moved ahead has other values, so it is no repeat.
 */
function rowIdentity(fields: readonly string[]): (row: object) => unknown {
  if (fields.length === 1) {
    const field = fields[0]!
    return (row) => (row as Record<string, unknown>)[field]
  }
  return (row) => fields.map((field) => (row as Record<string, unknown>)[field])
}

/** An entity's identity for the progress guard: its sort key values as loaded (see rowIdentity). */
export function entityIdentity(fields: readonly string[], className: string): (entity: object) => unknown {
  return fields.length === 1
    ? (entity) => keyValues(entity, fields, className)[0]
    : (entity) => keyValues(entity, fields, className)
}

/**
 * The plain path binds hydrated values (through the property's type, as em.find binds a filter)
 * because the property's runtime type says they are exact; a custom type whose database values
 * contradict it would bind something else, so the run stops instead.
 */
function assertExact(
  meta: EntityMetadata,
  ordering: KeysetOrdering,
  platform: Platform,
  values: readonly unknown[] | undefined,
): void {
  values?.forEach((value, i) => {
    const rule = ordering.columns[i]!.rule
    const prop = meta.properties[ordering.keys[i]!.field] as EntityProperty
    const bound =
      value === null || prop.customType === undefined
        ? value
        : prop.customType.convertToDatabaseValue(value, platform, { mode: 'query' })
    if (isExactKeyValue(rule, bound)) return
    throw new TypeError(
      `Keyset iteration over ${meta.className}: sort property ${meta.className}.${prop.name} is declared with runtime type ${JSON.stringify(prop.runtimeType)}, but the value it binds is ${keyValueKind(bound) ?? Object.prototype.toString.call(bound)}, which does not read back exactly from its ${rule.type} column. ` +
        "Make the custom type's compareAsType() match what convertToDatabaseValue returns, order by another property, or use strategy: 'cursor' (PostgreSQL)",
    )
  })
}

/** A plain-read run: its rows, the create options of its entities, and whether it seeks from rows (checked on the first chunk). */
interface PlainRows {
  readonly reader: ReadAheadRows<object>
  readonly create: PlainFind
  rowsSeek: boolean
}

/** Two sort keys are the same position (Dates by time, the rest by identity). */
function sameKey(a: readonly unknown[], b: readonly unknown[]): boolean {
  return (
    a.length === b.length &&
    a.every((value, i) =>
      value instanceof Date && b[i] instanceof Date
        ? value.getTime() === (b[i] as Date).getTime()
        : Object.is(value, b[i]),
    )
  )
}

/**
 * The sort key values of a loaded entity, in key order. A single-table hierarchy's discriminator
 * column is a property MikroORM does not set on entities; its value is the entity class's own.
 */
export function keyValues(entity: object, fields: readonly string[], className: string): unknown[] {
  return fields.map((field) => {
    let value = (entity as Record<string, unknown>)[field]
    if (Utils.isScalarReference(value)) value = value.unwrap()
    if (value === undefined) value = discriminatorValue(entity, field)
    if (value === undefined) {
      throw new Error(
        `@batchyield/mikro-orm: sort property ${className}.${field} was not loaded, so the next chunk cannot be positioned`,
      )
    }
    return value
  })
}

function discriminatorValue(entity: object, field: string): unknown {
  const meta = helper(entity).__meta
  return meta.root.discriminatorColumn === field ? meta.discriminatorValue : undefined
}

/**
 * The seek condition needs every sort property's value: add them to a partial `fields`, take them
 * out of `exclude`, and populate lazy ones. This only widens what is loaded.
 */
function withSortFieldsLoaded(
  findOptions: Readonly<Record<string, unknown>>,
  ordering: KeysetOrdering,
): Record<string, unknown> {
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
