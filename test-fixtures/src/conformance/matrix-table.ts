/**
 * Creates the type matrix's table on a test database and fills it with {@link matrixRows}: one column
 * per {@link typeMatrix} line of the database's dialect, every column nullable, `id` the primary key.
 */
import { withConnection } from '#src/connection'
import { matrixRows, type MatrixRow, type MatrixRowsOptions } from '#src/conformance/matrix-rows'
import { type MatrixColumn, matrixColumns, typeMatrixTable } from '#src/conformance/type-matrix'
import { type Dialect, dialectOf } from '#src/dialect'

/**
 * The statements that create `type_matrix` (and, on PostgreSQL, the enum type and the nondeterministic
 * collation its columns use).
 */
export function matrixTableStatements(dialect: Dialect): string[] {
  const columns = matrixColumns(dialect).map((c) => `  ${c.column} ${c.sqlType}`)
  if (dialect === 'postgres') {
    return [
      "CREATE TYPE matrix_mood AS ENUM ('zeta', 'alpha', 'mid')",
      "CREATE COLLATION matrix_ci (provider = icu, locale = 'und-u-ks-level1', deterministic = false)",
      `CREATE TABLE ${typeMatrixTable} (\n  id integer PRIMARY KEY,\n${columns.join(',\n')}\n)`,
    ]
  }
  return [`CREATE TABLE ${typeMatrixTable} (\n  id int PRIMARY KEY,\n${columns.join(',\n')}\n) ENGINE=InnoDB`]
}

/**
 * Creates `type_matrix` on the database `url` names and inserts the rows; returns them.
 *
 * @example
 * ```ts
 * const db = useTestDatabase('mariadb', { schema: false })
 * beforeAll(async () => { rows = await createTypeMatrix(db.url) })
 * ```
 */
export async function createTypeMatrix(url: string, options: MatrixRowsOptions = {}): Promise<MatrixRow[]> {
  const dialect = dialectOf(url)
  const columns = matrixColumns(dialect)
  const rows = matrixRows(dialect, options)
  await withConnection(url, async (connection) => {
    for (const statement of matrixTableStatements(dialect)) await connection.query(statement)
    const names = ['id', ...columns.map((c) => c.column)].join(', ')
    for (let start = 0; start < rows.length; start += 30) {
      const slice = rows.slice(start, start + 30)
      const params: unknown[] = []
      const tuples = slice.map((row) => {
        params.push(row.id)
        const inputs = columns.map((column) => {
          params.push(row.values[column.column])
          return inputExpression(dialect, column, params.length)
        })
        return `(${placeholder(dialect, params.length - columns.length)}, ${inputs.join(', ')})`
      })
      await connection.query(`INSERT INTO ${typeMatrixTable} (${names}) VALUES ${tuples.join(', ')}`, params)
    }
  })
  return rows
}

function placeholder(dialect: Dialect, position: number): string {
  return dialect === 'postgres' ? `$${position}` : '?'
}

/** How one input text becomes the column's value: a cast on PostgreSQL, a conversion where MariaDB's own would misread it. */
function inputExpression(dialect: Dialect, column: MatrixColumn, position: number): string {
  const p = placeholder(dialect, position)
  if (dialect === 'postgres') return `${p}::${column.sqlType.replace(/ COLLATE .*$/, '')}`
  if (column.sqlType.startsWith('bit')) return `CAST(${p} AS UNSIGNED)` // a string would be taken as bytes
  if (column.sqlType.startsWith('binary') || column.sqlType.startsWith('varbinary')) return `UNHEX(${p})` // pools hold hex
  return p
}
