import type { SeekPredicate } from '@batchyield/batch-core'

/**
 * Renders the core's dialect-neutral seek predicate as a TypeORM WHERE fragment: columns are
 * the escaped expressions in `columns` (from ORM metadata), values become named parameters
 * `:<prefix><n>` collected in `parameters`. TypeORM then turns the names into the driver's
 * placeholders, so no value is ever pasted into SQL.
 */
export function renderSeek(
  predicate: SeekPredicate,
  columns: ReadonlyMap<string, string>,
  prefix: string,
  parameters: Record<string, unknown>,
): string {
  const column = (field: string): string => {
    const sql = columns.get(field)
    if (sql === undefined) throw new Error(`internal: seek predicate names unknown field ${JSON.stringify(field)}`)
    return sql
  }
  const render = (p: SeekPredicate): string => {
    switch (p.kind) {
      case 'false':
        return '1 = 0'
      case 'isNull':
        return `${column(p.field)} IS NULL`
      case 'isNotNull':
        return `${column(p.field)} IS NOT NULL`
      case 'compare': {
        const name = `${prefix}${Object.keys(parameters).length}`
        parameters[name] = p.value
        return `${column(p.field)} ${p.op} :${name}`
      }
      case 'and':
      case 'or':
        return `(${p.terms.map(render).join(p.kind === 'and' ? ' AND ' : ' OR ')})`
    }
    return p satisfies never
  }
  return render(predicate)
}
