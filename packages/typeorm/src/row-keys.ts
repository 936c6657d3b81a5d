import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm'
import type { KeyColumn } from './query-plan.js'

/**
 * Extra select expressions that read each sort key's value under an alias of our own
 * (`<prefix>k<i>`), so the adapter can seek and report resume tokens without depending on how
 * TypeORM names or converts the entity's own columns.
 */
export class RowKeys {
  private readonly aliases: readonly string[]

  constructor(
    private readonly keys: readonly KeyColumn[],
    private readonly prefix: string,
    private readonly keyValue: (column: KeyColumn) => string,
  ) {
    this.aliases = keys.map((_, i) => this.alias(i))
  }

  /** How many values each row's key has. */
  get width(): number {
    return this.keys.length
  }

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
    const values: unknown[] = []
    this.readInto(raw, values)
    return values
  }

  /** Appends the key values of one raw row to `values` (a flat list, `width` values per row). */
  readInto(raw: Record<string, unknown>, values: unknown[]): void {
    const { aliases } = this
    for (let i = 0; i < aliases.length; i++) {
      const value = raw[aliases[i]!]
      if (value === undefined) throw new Error(`internal: sort key ${this.keys[i]!.key.field} missing from the raw row`)
      values.push(value)
    }
  }

  /**
   * Appends each raw row's identity in the ordering (its key values: one value, or an array of
   * them) to `identities`, and returns it: what KeysetProgress compares between chunks.
   */
  identitiesInto(raw: readonly Record<string, unknown>[], identities: unknown[]): unknown[] {
    const { aliases } = this
    if (aliases.length === 1) {
      const alias = aliases[0]!
      for (const row of raw) identities.push(row[alias])
    } else {
      for (const row of raw) identities.push(aliases.map((alias) => row[alias]))
    }
    return identities
  }

  /** Identifies the root entity of a raw row (its primary key values). */
  rootOf(raw: Record<string, unknown>): string {
    return JSON.stringify(
      this.keys.flatMap((key, i) => (key.column.isPrimary ? [raw[this.aliases[i]!]] : [])),
      jsonSafe,
    )
  }

  /**
   * The raw row each entity TypeORM hydrated from `raw` came from (its first row), in entity
   * order. TypeORM groups raw rows by primary key in order of first appearance, one entity per
   * group; so do we. When there are as many rows as entities (no to-many joins), rows and
   * entities are already 1:1 in the same order, and grouping is skipped.
   */
  firstRows(raw: readonly Record<string, unknown>[], entities: readonly unknown[]): readonly Record<string, unknown>[] {
    if (raw.length === entities.length) return raw
    const firstRows = new Map<string, Record<string, unknown>>()
    for (const row of raw) {
      const root = this.rootOf(row)
      if (!firstRows.has(root)) firstRows.set(root, row)
    }
    if (firstRows.size !== entities.length) {
      throw new Error(
        `internal: ${raw.length} rows of ${firstRows.size} root entities hydrated into ${entities.length} entities`,
      )
    }
    return [...firstRows.values()]
  }
}

function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return `${value}n`
  return value
}
