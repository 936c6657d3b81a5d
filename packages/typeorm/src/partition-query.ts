import type { PartitionQuery } from '@batchyield/batch-core'
import type { ObjectLiteral } from 'typeorm'
import { readQuery, whereClauseOf } from './internals.js'
import { type KeysetOrdering, keyShapeOf, type QueryPlan } from './query-plan.js'

/**
 * What a partition descriptor of this query is tied to: the keyset ordering and table (the key
 * shape, as for resume tokens) and the text of what decides which rows the query returns: its WHERE
 * clause as TypeORM renders it (soft-delete and discriminator conditions included), its inner joins
 * (which drop rows) and the values of its parameters. Selected columns and left joins decide what
 * is loaded with each row, not which rows, so a worker may load relations the coordinator did not.
 */
export function partitionQueryOf(plan: QueryPlan<ObjectLiteral>, ordering: KeysetOrdering): PartitionQuery {
  const base = plan.base
  const innerJoins = readQuery(base)
    .joins.filter((join) => join.inner)
    .map((join) => [join.target, join.alias, join.condition])
  const parameters = Object.entries(base.getParameters())
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => [name, jsonOf(value)])
  return {
    shape: keyShapeOf(plan, ordering),
    conditions: JSON.stringify({ where: whereClauseOf(base), innerJoins, parameters }),
  }
}

/** A parameter's value as JSON, bigints as `12n`; one that JSON cannot write (a cycle) as its String(). */
function jsonOf(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))
  } catch {
    return String(value)
  }
}
