import type { SortKey } from '@batchyield/batch-core'
import { type EntityManager, type EntityMetadata, type EntityProperty, helper, type Platform, Utils } from '@mikro-orm/core'

/**
 * Reads the exact database text of a chunk's timestamp sort keys.
 *
 * Why: PostgreSQL `timestamp(tz)` and MariaDB/MySQL `datetime(6)` keep microseconds, while
 * MikroORM hydrates a JS `Date` (milliseconds). Seeking past a truncated `Date` yields the rows
 * of the same millisecond again (or, for a descending order, skips them), and a chunk whose rows
 * all share one millisecond would be read forever. The exact text, bound as a string parameter,
 * is cast by the database to the column's type, so the seek stays exact and index-friendly, and
 * the resume token carries the microseconds.
 */
export interface ExactSortValues {
  /**
   * The sort key values of the entities at `positions` of `items` (`values[n]` holds the hydrated
   * values of `items[positions[n]]`, in key order), with every timestamp key replaced by the
   * column's exact text. `undefined` when one of those rows changed or vanished since `items`
   * were read (a concurrent write): the caller reads the chunk again.
   */
  read(em: EntityManager, items: readonly object[], positions: readonly number[], values: readonly (readonly unknown[])[], signal: AbortSignal | undefined): Promise<unknown[][] | undefined>
}

interface TimestampKey {
  /** Position in the sort keys. */
  readonly index: number
  readonly prop: EntityProperty
}

/**
 * The reader for `keys` of `meta`, or `undefined` when no sort key is a timestamp (nothing to
 * do) or the database is neither PostgreSQL nor MariaDB/MySQL (the `Date` values are used as
 * they are).
 */
export function exactSortValues(em: EntityManager, meta: EntityMetadata, keys: readonly SortKey[], schema: string | undefined): ExactSortValues | undefined {
  const timestampKeys: TimestampKey[] = []
  keys.forEach((key, index) => {
    const prop = meta.properties[key.field] as EntityProperty
    if (prop.runtimeType === 'Date' && prop.fieldNames?.length === 1 && !em.getPlatform().isNumericProperty(prop)) timestampKeys.push({ index, prop })
  })
  const dependencies = em.getDriver().getDependencies()
  const asText = dependencies.includes('pg') ? (column: string) => `${column}::text` : dependencies.includes('mysql2') ? (column: string) => `cast(${column} as char)` : undefined
  if (timestampKeys.length === 0 || asText === undefined) return undefined

  const platform = em.getPlatform()
  const quote = (identifier: string): string => platform.quoteIdentifier(identifier)
  const pkColumns = meta.primaryKeys.map((pk) => (meta.properties[pk] as EntityProperty).fieldNames[0]!)
  const table = em.getDriver() as unknown as { getTableName(meta: EntityMetadata, options: { schema?: string }): string }
  const from = table.getTableName(meta, { schema })
  const select = [
    ...pkColumns.map((column, i) => `${quote(column)} as ${quote(`pk${i}`)}`),
    ...timestampKeys.map(({ prop }, i) => `${asText(quote(prop.fieldNames[0]!))} as ${quote(`key${i}`)}`),
  ].join(', ')
  const pkTuple = pkColumns.length === 1 ? quote(pkColumns[0]!) : `(${pkColumns.map(quote).join(', ')})`

  return {
    async read(forkEm, items, positions, values, signal) {
      const exact = values.map((v) => [...v])
      if (positions.length === 0) return exact
      const pks = positions.map((i) => (helper(items[i]!).getPrimaryKeys(true) ?? []) as unknown[])
      const placeholders = pks.map((pk) => (pk.length === 1 ? '?' : `(${pk.map(() => '?').join(', ')})`)).join(', ')
      const sql = `select ${select} from ${from} where ${pkTuple} in (${placeholders})`
      const rows = await (forkEm as unknown as SqlExecute).execute(sql, pks.flat(), { method: 'all', signal })
      const byPk = new Map<string, Record<string, unknown>>()
      for (const row of rows) byPk.set(Utils.getPrimaryKeyHash(pkColumns.map((_, i) => row[`pk${i}`] as string)), row)

      for (const n of positions.keys()) {
        const row = byPk.get(Utils.getPrimaryKeyHash(pks[n] as string[]))
        if (row === undefined) return undefined // deleted meanwhile
        const keyValues = exact[n]!
        for (const [j, { index }] of timestampKeys.entries()) {
          const text = row[`key${j}`]
          const loaded = keyValues[index]
          if (text === null && loaded === null) continue
          // the text must be the value that was hydrated, else the row was updated meanwhile
          if (typeof text !== 'string' || !(loaded instanceof Date) || hydrated(platform, text) !== loaded.getTime()) return undefined
          keyValues[index] = text
        }
      }
      return exact
    },
  }
}

interface SqlExecute {
  execute(sql: string, params: unknown[], options: { method: 'all'; signal?: AbortSignal }): Promise<Record<string, unknown>[]>
}

/** The milliseconds MikroORM hydrates from this text (its own rule: the configured timezone when the text has none). */
function hydrated(platform: Platform, text: string): number {
  const tz = platform.getTimezone()
  const zoned = !tz || tz === 'local' || text.includes('+') || text.lastIndexOf('-') > 10 || text.endsWith('Z')
  const date = platform.parseDate(zoned ? text : text + tz)
  return date instanceof Date ? date.getTime() : Number.NaN
}
