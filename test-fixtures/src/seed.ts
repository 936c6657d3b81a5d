import { connect, type FixtureConnection } from '#src/connection'
import { type Dataset, type DatasetOptions, generateDataset } from '#src/dataset'
import { type Dialect, dialectOf } from '#src/dialect'
import { seedEvents } from '#src/events'
import type { FixtureTable } from '#src/schema'

/** Options for {@link seed}. */
export interface SeedOptions extends DatasetOptions {
  /** Also fill `events` with this many rows (see `seedEvents`). Default 0: events stay as they are. */
  events?: number
}

/**
 * Replaces the small tables' contents with {@link generateDataset}'s rows (parameterised multi-row inserts,
 * in a transaction), resets their id sequences, runs ANALYZE, and returns the rows it inserted, so a test can
 * derive its expectations from them. Deterministic: the same options give the same database in both dialects.
 *
 * @example
 * ```ts
 * const db = await createTestDatabase({ dialect: 'mariadb' })
 * const { books } = await seed(db.url, { counts: { books: 1000 } })
 * ```
 */
export async function seed(url: string, options: SeedOptions = {}): Promise<Dataset> {
  const dataset = generateDataset(options)
  const dialect = dialectOf(url)
  await using connection = await connect(url)
  await connection.query(dialect === 'postgres' ? 'BEGIN' : 'START TRANSACTION')
  try {
    await clearTables(connection, dialect)
    await insertRows(connection, 'authors', ['id', 'name', 'email', 'created_at'], dataset.authors)
    await insertRows(
      connection,
      'books',
      ['id', 'author_id', 'title', 'published_at', 'price', 'rating'],
      dataset.books,
    )
    await insertRows(connection, 'tags', ['id', 'name'], dataset.tags)
    await insertRows(connection, 'book_tags', ['book_id', 'tag_id'], dataset.bookTags)
    await insertRows(connection, 'order_lines', ['order_id', 'line_no', 'sku', 'quantity'], dataset.orderLines)
    await insertRows(connection, 'devices', ['id', 'label', 'registered_at'], dataset.devices)
    await insertRows(connection, 'countries', ['code', 'name', 'population'], dataset.countries)
    if (dialect === 'postgres') {
      // Explicit ids leave the serial sequences behind; move them past the rows so plain inserts still work.
      for (const table of ['authors', 'books', 'tags'] as const) {
        await connection.query(
          `SELECT setval(pg_get_serial_sequence('${table}', 'id'), coalesce(max(id), 1), max(id) IS NOT NULL) FROM ${table}`,
        )
      }
    }
    await connection.query('COMMIT')
  } catch (error) {
    await connection.query('ROLLBACK').catch(() => {})
    throw error
  }
  await connection.query(
    dialect === 'postgres'
      ? 'ANALYZE authors, books, tags, book_tags, order_lines, devices, countries'
      : 'ANALYZE TABLE authors, books, tags, book_tags, order_lines, devices, countries',
  )
  if (options.events) await seedEvents(url, options.events)
  return dataset
}

const smallTables: readonly FixtureTable[] = [
  'book_tags',
  'books',
  'authors',
  'tags',
  'order_lines',
  'devices',
  'countries',
]

async function clearTables(connection: FixtureConnection, dialect: Dialect): Promise<void> {
  if (dialect === 'postgres') {
    await connection.query(`TRUNCATE ${smallTables.join(', ')} RESTART IDENTITY`)
    return
  }
  // TRUNCATE would commit the transaction on MariaDB (and is refused on referenced tables): delete children first.
  for (const table of smallTables) await connection.query(`DELETE FROM ${table}`)
}

const rowsPerStatement = 250

/** Multi-row INSERT with one placeholder per value; table and column names come from the constants above. */
async function insertRows<Row extends object>(
  connection: FixtureConnection,
  table: FixtureTable,
  columns: readonly (keyof Row & string)[],
  rows: readonly Row[],
): Promise<void> {
  for (let start = 0; start < rows.length; start += rowsPerStatement) {
    const slice = rows.slice(start, start + rowsPerStatement)
    const params: unknown[] = []
    const tuples = slice.map((row) => {
      const marks = columns.map((column) => {
        params.push(row[column])
        return connection.dialect === 'postgres' ? `$${params.length}` : '?'
      })
      return `(${marks.join(', ')})`
    })
    await connection.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${tuples.join(', ')}`, params)
  }
}
