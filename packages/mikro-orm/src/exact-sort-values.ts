import type { SortKey } from '@batchyield/batch-core'
import { type EntityManager, type EntityMetadata, type EntityProperty, helper, Utils } from '@mikro-orm/core'
import type { KeyColumn } from './key-columns.js'
import { executeAll } from './sql-package.js'

/**
 * Reads the exact database values of a chunk's sort keys whose hydrated values are not exact.
 *
 * Why: a seek binds the last row's key values; that is only exact when the value compares equal to
 * the stored one. MikroORM hydrates a millisecond `Date` from a microsecond timestamp, a JS number
 * from a DECIMAL (or from mysql2's lossy FLOAT/DOUBLE parse), a parsed object from JSON, a Buffer
 * from BIT; MariaDB sorts ENUM/SET by their index. For such keys the rule of batch-core's key-type
 * table says how to read the value exactly (`rule.read(column)`: the server's text, or the index),
 * and that value is bound (as a raw column comparison, untouched by the property's type), so the
 * seek stays exact and index-friendly, and the resume token carries the exact value.
 */
export interface ExactSortValues {
  /**
   * The sort key values of the entities at `positions` of `items` (`values[n]` holds the hydrated
   * values of `items[positions[n]]`, in key order), with every key that needs it replaced by its
   * exact value. `current` is false when one of those rows changed its key or vanished since
   * `items` were read (a concurrent write): the caller reads the chunk again; such a row keeps the
   * value read now, or its hydrated values when it is gone.
   */
  read(
    em: EntityManager,
    items: readonly object[],
    positions: readonly number[],
    values: readonly (readonly unknown[])[],
    signal: AbortSignal | undefined,
  ): Promise<ExactRead>
}

export interface ExactRead {
  readonly values: unknown[][]
  readonly current: boolean
}

interface ReadKey {
  /** Position in the sort keys. */
  readonly index: number
  readonly prop: EntityProperty
  readonly column: KeyColumn
}

/** The reader for `keys` of `meta`, or `undefined` when every key's hydrated value is exact (nothing to read). */
export function exactSortValues(
  em: EntityManager,
  meta: EntityMetadata,
  keys: readonly SortKey[],
  columns: readonly KeyColumn[],
  schema: string | undefined,
): ExactSortValues | undefined {
  const readKeys: ReadKey[] = []
  keys.forEach((key, index) => {
    if (!columns[index]!.hydratedExact)
      readKeys.push({ index, prop: meta.properties[key.field] as EntityProperty, column: columns[index]! })
  })
  if (readKeys.length === 0) return undefined

  const platform = em.getPlatform()
  const driver = em.getDriver() as unknown as SqlDriver
  const quote = (identifier: string): string => platform.quoteIdentifier(identifier)
  const pkColumns = meta.primaryKeys.map((pk) => (meta.properties[pk] as EntityProperty).fieldNames[0]!)
  const keyColumns = readKeys.map(({ prop }) => prop.fieldNames[0]!)
  // the columns as they are (mapped like em.find's rows, to see whether the row changed) and as read exactly
  const plainColumns = [...new Set([...pkColumns, ...keyColumns])]
  const select = [
    ...plainColumns.map(quote),
    ...readKeys.map(({ column }, j) => `${column.rule.read(quote(keyColumns[j]!))} as ${quote(`__exact${j}`)}`),
  ].join(', ')
  const from = driver.getTableName(meta, { schema })
  const pkTuple = pkColumns.length === 1 ? quote(pkColumns[0]!) : `(${pkColumns.map(quote).join(', ')})`

  return {
    async read(forkEm, items, positions, values, signal) {
      const exact = values.map((v) => [...v])
      if (positions.length === 0) return { values: exact, current: true }
      const pks = positions.map((i) => (helper(items[i]!).getPrimaryKeys(true) ?? []) as unknown[])
      const placeholders = pks.map((pk) => (pk.length === 1 ? '?' : `(${pk.map(() => '?').join(', ')})`)).join(', ')
      const sql = `select ${select} from ${from} where ${pkTuple} in (${placeholders})`
      const rows = await executeAll(forkEm, sql, pks.flat(), signal)
      const byPk = new Map<string, Record<string, unknown>>()
      for (const row of rows) byPk.set(Utils.getPrimaryKeyHash(pkColumns.map((column) => row[column] as string)), row)

      let current = true
      for (const n of positions.keys()) {
        const row = byPk.get(Utils.getPrimaryKeyHash(pks[n] as string[]))
        if (row === undefined) {
          current = false // deleted meanwhile
          continue
        }
        const keyValues = exact[n]!
        const mapped =
          driver.mapResult(Object.fromEntries(plainColumns.map((column) => [column, row[column]])), meta) ?? {}
        for (const [j, { index, prop }] of readKeys.entries()) {
          // the row must still hold the value that was hydrated, else it was updated meanwhile
          if (!sameValue(hydrate(prop, mapped[prop.name], forkEm), keyValues[index])) current = false
          keyValues[index] = row[`__exact${j}`]
        }
      }
      return { values: exact, current }
    },
  }
}

interface SqlDriver {
  getTableName(meta: EntityMetadata, options: { schema?: string }): string
  mapResult(result: Record<string, unknown>, meta: EntityMetadata): Record<string, unknown> | null
}

/** A mapped column value as MikroORM's hydrator turns it into the property's value. */
function hydrate(prop: EntityProperty, value: unknown, em: EntityManager): unknown {
  if (value === null || value === undefined || prop.customType === undefined) return value ?? null
  return prop.customType.convertToJSValue(value, em.getPlatform())
}

/** Two hydrated values are the same (Dates by time, bytes by content, objects by their JSON). */
function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime()
  if (a instanceof Uint8Array && b instanceof Uint8Array)
    return a.length === b.length && a.every((byte, i) => byte === b[i])
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null)
    return JSON.stringify(a) === JSON.stringify(b)
  return Object.is(a, b)
}
