import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm'
import type { KeyColumn } from './query-plan.js'

/**
 * Extra select expressions that read each sort key's value under an alias of our own
 * (`<prefix>k<i>`), so the adapter can seek and report resume tokens without depending on how
 * TypeORM names or converts the entity's own columns.
 */
export class RowKeys {
  constructor(
    private readonly keys: readonly KeyColumn[],
    private readonly prefix: string,
    private readonly keyValue: (column: KeyColumn) => string,
  ) {}

  alias(index: number): string {
    return `${this.prefix}k${index}`
  }

  /** Adds the key-value selects to `qb` (after its own selects). */
  addTo<E extends ObjectLiteral>(qb: SelectQueryBuilder<E>): SelectQueryBuilder<E> {
    this.keys.forEach((key, i) => qb.addSelect(this.keyValue(key), this.alias(i)))
    return qb
  }

  /** The key values of one raw row, in key order. */
  read(raw: Record<string, unknown>): unknown[] {
    return this.keys.map((key, i) => {
      const value = raw[this.alias(i)]
      if (value === undefined) throw new Error(`internal: sort key ${key.key.field} missing from the raw row`)
      return value
    })
  }

  /** Identifies the root entity of a raw row (its primary key values). */
  rootOf(raw: Record<string, unknown>): string {
    return JSON.stringify(this.keys.flatMap((key, i) => (key.column.isPrimary ? [raw[this.alias(i)]] : [])), jsonSafe)
  }

  /**
   * Pairs each entity TypeORM hydrated from `raw` with its key values. TypeORM groups raw rows
   * by primary key in order of first appearance, one entity per group; so do we.
   */
  pair<E>(raw: readonly Record<string, unknown>[], entities: readonly E[]): Map<E, unknown[]> {
    const firstRows = new Map<string, Record<string, unknown>>()
    for (const row of raw) {
      const root = this.rootOf(row)
      if (!firstRows.has(root)) firstRows.set(root, row)
    }
    if (firstRows.size !== entities.length) {
      throw new Error(`internal: ${raw.length} rows of ${firstRows.size} root entities hydrated into ${entities.length} entities`)
    }
    const pairs = new Map<E, unknown[]>()
    let i = 0
    for (const row of firstRows.values()) pairs.set(entities[i++]!, this.read(row))
    return pairs
  }
}

function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return `${value}n`
  return value
}
