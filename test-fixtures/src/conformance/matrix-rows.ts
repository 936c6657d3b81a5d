/**
 * The rows of the type matrix, generated from a seed: every column holds each of its pool's values at
 * least once, NULLs, and repeats (exact duplicates), spread over the rows independently per column, so
 * that small chunks cross many boundaries between equal, near-equal and NULL keys.
 */
import { matrixColumns } from '#src/conformance/type-matrix'
import type { Dialect } from '#src/dialect'
import { createRandom, type Random } from '#src/prng'

/** One row: its primary key and, per column name, the SQL input text or NULL. */
export interface MatrixRow {
  readonly id: number
  readonly values: Readonly<Record<string, string | null>>
}

/** Options for {@link matrixRows}. */
export interface MatrixRowsOptions {
  /** Number of rows (default 90). Must leave room for every pool value and the NULLs. */
  rows?: number
  /** PRNG seed (default 15). */
  seed?: number
}

/** The default number of rows: chunks of 1, 2, 3 and 7 cross 90, 45, 30 and 13 boundaries. */
export const defaultMatrixRows = 90

/** NULLs per column: at least this many, so NULL runs span chunk boundaries too. */
const minimumNulls = 4

/**
 * The matrix rows of `dialect`, ids 1..rows. Deterministic: the same options give the same rows.
 *
 * @example
 * ```ts
 * const rows = matrixRows('postgres')
 * rows[0] // { id: 1, values: { smallint_v: '101', integer_v: null, … } }
 * ```
 */
export function matrixRows(dialect: Dialect, options: MatrixRowsOptions = {}): MatrixRow[] {
  const count = options.rows ?? defaultMatrixRows
  const seed = options.seed ?? 15
  const columns = matrixColumns(dialect)
  const byColumn = columns.map((column, stream) => {
    const needed = column.values.length + minimumNulls + 1
    if (!Number.isSafeInteger(count) || count < needed) {
      throw new RangeError(
        `rows must be an integer of at least ${needed} for ${dialect}.${column.column}, received ${String(count)}`,
      )
    }
    return columnValues(column.values, count, createRandom(seed, stream + 1))
  })
  return Array.from({ length: count }, (_, i) => ({
    id: i + 1,
    values: Object.fromEntries(columns.map((column, c) => [column.column, byColumn[c]![i]!])),
  }))
}

/** `count` values: the pool once each, some NULLs, the rest random picks (repeats), shuffled. */
function columnValues(pool: readonly string[], count: number, random: Random): (string | null)[] {
  const nulls = minimumNulls + random.int(0, Math.floor(count / 20))
  const values: (string | null)[] = [...pool, ...Array.from({ length: nulls }, () => null)]
  while (values.length < count) values.push(random.pick(pool))
  for (let i = values.length - 1; i > 0; i--) {
    const j = random.int(0, i)
    ;[values[i], values[j]] = [values[j]!, values[i]!]
  }
  return values
}
