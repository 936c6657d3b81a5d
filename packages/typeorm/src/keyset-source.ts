import { type Chunk, type ChunkSource, encodeResumeToken, type KeyShape, seekPredicate } from '@batchyield/batch-core'
import type { ObjectLiteral, OrderByCondition, SelectQueryBuilder } from 'typeorm'
import type { Dialect } from './dialect.js'
import { cloneQuery } from './query-clone.js'
import type { KeyColumn, KeysetOrdering, QueryPlan } from './query-plan.js'
import { RowKeys } from './row-keys.js'
import { renderSeek } from './seek-sql.js'

/**
 * Keyset strategy: each chunk is one query (two with to-many joins) that seeks past the last
 * row's sort key. Nothing is held between chunks, so there is nothing to release.
 *
 * Without to-many joins a row is an entity: `ORDER BY keys LIMIT n` with the seek condition.
 * With to-many joins, LIMIT would cut an entity's rows apart, so the chunk is chosen first as
 * the next `n` distinct root keys, then those entities are loaded with the query's own joins
 * (`WHERE pk IN (…)`, same order), the way TypeORM's own `take()` pagination works.
 */
export class KeysetSource<E extends ObjectLiteral> implements ChunkSource<E> {
  private last: readonly unknown[] | undefined
  private skip: number
  private readonly rowKeys: RowKeys
  private readonly keysOf = new WeakMap<E, readonly unknown[]>()
  private readonly columns: ReadonlyMap<string, string>
  private readonly keys: readonly KeyColumn[]

  constructor(
    private readonly plan: QueryPlan<E>,
    private readonly ordering: KeysetOrdering,
    private readonly shape: KeyShape,
    private readonly prefix: string,
    after: readonly unknown[] | undefined,
  ) {
    this.keys = ordering.keys
    this.last = after
    // A resume token already accounts for skip(): it points past rows the first run yielded.
    this.skip = after === undefined ? plan.skip : 0
    this.rowKeys = new RowKeys(this.keys, prefix, (key) => plan.dialect.keyValue(key.sql, key.column))
    this.columns = new Map(this.keys.map((k) => [k.key.field, k.sql]))
  }

  async next(size: number): Promise<Chunk<E>> {
    for (;;) {
      const chunk = this.plan.toManyJoins ? await this.readByRootKeys(size) : await this.readRows(size)
      // Rows picked by the key query can vanish before the entity query (concurrent deletes);
      // an empty chunk would end the iteration, so read on.
      if (chunk.items.length > 0 || chunk.done) return chunk
    }
  }

  close(): void {}

  cursorOf(item: E): string {
    const values = this.keysOf.get(item)
    if (values === undefined) throw new Error('internal: cursorOf() called with an entity this source did not yield')
    return encodeResumeToken(this.shape, values)
  }

  /** One query: the entities themselves, ordered, seeking, limited. */
  private async readRows(size: number): Promise<Chunk<E>> {
    const query = this.rowKeys.addTo(this.seek(cloneQuery(this.plan.base), size))
    const { raw, entities } = await query.getRawAndEntities()
    const pairs = this.rowKeys.pair(raw, entities)
    if (raw.length > 0) this.last = this.rowKeys.read(raw[raw.length - 1])
    return { items: this.remember(pairs), done: raw.length < size }
  }

  /** Two queries: the next `size` distinct root keys, then those entities with every join. */
  private async readByRootKeys(size: number): Promise<Chunk<E>> {
    const keyQuery = cloneQuery(this.plan.base)
    keyQuery.select([])
    this.keys.forEach((key, i) => keyQuery.addSelect(key.sql, `${this.prefix}o${i}`))
    this.rowKeys.addTo(keyQuery).distinct(true)
    const rootKeys: Record<string, unknown>[] = await this.seek(keyQuery, size, false).getRawMany()
    if (rootKeys.length === 0) return { items: [], done: true }
    this.last = this.rowKeys.read(rootKeys[rootKeys.length - 1]!)

    const entityQuery = this.rowKeys.addTo(this.ordered(cloneQuery(this.plan.base), true))
    const parameters: Record<string, unknown> = {}
    const primary = this.keys.flatMap((key, i) => (key.column.isPrimary ? [{ key, i }] : []))
    let condition: string
    if (primary.length === 1) {
      const { key, i } = primary[0]!
      parameters[`${this.prefix}ids`] = rootKeys.map((row) => this.rowKeys.read(row)[i])
      condition = `${key.sql} IN (:...${this.prefix}ids)`
    } else {
      condition = rootKeys
        .map((row, r) => {
          const values = this.rowKeys.read(row)
          const terms = primary.map(({ key, i }) => {
            const name = `${this.prefix}id${r}_${i}`
            parameters[name] = values[i]
            return `${key.sql} = :${name}`
          })
          return `(${terms.join(' AND ')})`
        })
        .join(' OR ')
    }
    appendCondition(entityQuery, condition, parameters)
    const { raw, entities } = await entityQuery.getRawAndEntities()
    return { items: this.remember(this.rowKeys.pair(raw, entities)), done: rootKeys.length < size }
  }

  /** Adds ORDER BY keys, the seek condition after `last`, LIMIT `size`, and the first chunk's OFFSET. */
  private seek(query: SelectQueryBuilder<E>, size: number, withRest = true): SelectQueryBuilder<E> {
    this.ordered(query, withRest).limit(size)
    if (this.skip > 0) {
      query.offset(this.skip)
      this.skip = 0
    }
    if (this.last === undefined) return query
    const parameters: Record<string, unknown> = {}
    let condition = renderSeek(seekPredicate(this.keys.map((k) => k.key), this.last), this.columns, `${this.prefix}p`, parameters)
    const hint = this.rangeHint(parameters)
    if (hint !== undefined) condition = `${hint} AND ${condition}`
    appendCondition(query, condition, parameters)
    return query
  }

  /**
   * A redundant bound on the first key (`k1 >= x1`) that the database can use as an index range
   * start; the OR-expanded seek alone is often only a filter. Valid only when no row after the
   * last one can have a NULL first key.
   */
  private rangeHint(parameters: Record<string, unknown>): string | undefined {
    const first = this.keys[0]!
    const value = this.last![0]
    if (value === null || (first.key.nullable !== false && first.key.nulls === 'last')) return undefined
    const name = `${this.prefix}h`
    parameters[name] = value
    return `${first.sql} ${first.key.direction === 'asc' ? '>=' : '<='} :${name}`
  }

  /** ORDER BY the keys, then (unless it is the DISTINCT key query) the terms that order joined rows. */
  private ordered(query: SelectQueryBuilder<E>, withRest: boolean): SelectQueryBuilder<E> {
    return query.orderBy({ ...keysetOrderBy(this.keys, this.plan.dialect), ...(withRest ? this.ordering.rest : {}) })
  }

  private remember(pairs: Map<E, unknown[]>): E[] {
    for (const [entity, values] of pairs) this.keysOf.set(entity, values)
    return [...pairs.keys()]
  }
}

/** The ORDER BY of a keyset ordering, NULL placement written out where the database allows it. */
export function keysetOrderBy(keys: readonly KeyColumn[], dialect: Dialect): OrderByCondition {
  const orderBy: OrderByCondition = {}
  for (const { sql, key } of keys) {
    const order = key.direction === 'asc' ? 'ASC' : 'DESC'
    orderBy[sql] = dialect.orderByNulls && key.nullable !== false ? { order, nulls: key.nulls === 'first' ? 'NULLS FIRST' : 'NULLS LAST' } : order
  }
  return orderBy
}

/**
 * ANDs a condition to the query. TypeORM renders `extraAppendedAndWhereCondition` as
 * `WHERE ( <the query's own conditions> ) AND ( <ours> )`, so the user's `a OR b` stays
 * bracketed (a plain `andWhere()` would give `a OR b AND seek`).
 */
export function appendCondition<E extends ObjectLiteral>(query: SelectQueryBuilder<E>, condition: string, parameters: Record<string, unknown>): void {
  const map = query.expressionMap
  map.extraAppendedAndWhereCondition = map.extraAppendedAndWhereCondition ? `(${map.extraAppendedAndWhereCondition}) AND (${condition})` : condition
  query.setParameters(parameters)
}
