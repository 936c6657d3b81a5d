import { connect } from '@batchyield/test-fixtures'

/** Primary-key order of each fixture table, for reading rows back deterministically. */
const orderBy: Record<string, string> = {
  authors: 'id',
  books: 'id',
  tags: 'id',
  book_tags: 'book_id, tag_id',
  order_lines: 'order_id, line_no',
  devices: 'id',
  countries: 'code',
  events: 'id',
}

/**
 * Reads a whole table in primary-key order and smooths over driver differences (pg returns bigint as
 * strings, MariaDB booleans as 0/1), so rows from both dialects compare with toEqual.
 */
export async function readTable(url: string, table: keyof typeof orderBy & string): Promise<Record<string, unknown>[]> {
  await using connection = await connect(url)
  const rows = await connection.query(`SELECT * FROM ${table} ORDER BY ${orderBy[table]}`)
  return rows.map((row) => normalise(table, row))
}

export function normalise(table: string, row: Record<string, unknown>): Record<string, unknown> {
  const out = { ...row }
  if (table === 'countries') out.population = Number(out.population)
  if (table === 'events') {
    out.id = Number(out.id)
    out.is_test = Boolean(out.is_test)
    if (typeof out.payload === 'string') out.payload = JSON.parse(out.payload)
  }
  return out
}
