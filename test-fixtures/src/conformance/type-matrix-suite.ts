/**
 * The type matrix suite: for every column of {@link typeMatrix} on the driver's database, ordered by
 * that column in each direction, a fast-check property over chunk sizes 1, 2, 3 and 7, random batch
 * sizes and the strategies `'keyset'` and `'auto'` checks that `aiterator` does what the matrix says:
 * yields exactly the reference query's sequence (same ids, same order, each once, same hydrated
 * values, batches full except the last), or refuses with a `KeysetOrderingError` naming the column
 * before any row (and `'auto'` then takes the cursor on PostgreSQL). Every run is bounded, so a keyset
 * that repeats rows fails with a diagnosis instead of hanging.
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { boundedRun, type BoundedRun, describeError, sequenceDiagnosis } from '#src/conformance/bounded-run'
import { comparable } from '#src/conformance/comparable'
import type { ConformanceStrategy, TypeMatrixDriver, TypeMatrixOrm } from '#src/conformance/driver'
import type { MatrixRow } from '#src/conformance/matrix-rows'
import { createTypeMatrix } from '#src/conformance/matrix-table'
import { type MatrixColumn, matrixColumns } from '#src/conformance/type-matrix'
import type { Dialect } from '#src/dialect'
import { useTestDatabase } from '#src/vitest'

/** Options for {@link defineTypeMatrixSuite}. */
export interface TypeMatrixSuiteOptions {
  /** fast-check runs per column and direction, including the two fixed examples (default 4). */
  numRuns?: number
}

/** What one run must do. */
type Behaviour = 'sequence' | 'refusal' | 'reference error'

/** The chunk sizes the matrix runs: 1 puts a boundary after every row; 7 lands boundaries inside runs of duplicates. */
export const matrixChunkSizes = [1, 2, 3, 7] as const

/** PostgreSQL's error for ORDER BY on a type without an ordering. */
const noOrderingOperator = /could not identify an ordering operator for type/

/**
 * Registers the type matrix for `driver`'s adapter and dialect: creates a database with `type_matrix`,
 * opens the driver's ORM on it, and defines one test per column and direction.
 *
 * @example
 * ```ts
 * describe('MikroORM on MariaDB: type matrix', () => defineTypeMatrixSuite(mikroOrmMatrixDriver('mariadb')))
 * ```
 */
export function defineTypeMatrixSuite(driver: TypeMatrixDriver, options: TypeMatrixSuiteOptions = {}): void {
  const { dialect } = driver
  const numRuns = options.numRuns ?? 4
  const db = useTestDatabase(dialect, { schema: false })
  let rows: MatrixRow[]
  let orm: TypeMatrixOrm
  beforeAll(async () => {
    rows = await createTypeMatrix(db.url)
    orm = await driver.open(db.url)
  })
  afterAll(async () => {
    await orm?.close()
  })
  const columns = matrixColumns(dialect)

  const jsonAsText = driver.jsonHydration === 'text'
  it(`the driver maps id and all ${columns.length} columns: each property is null exactly where its column is NULL${jsonAsText ? ', each JSON property the text the database sent' : ' (or the JSON null)'}`, async () => {
    const entities = await orm.reference('id', 'asc')
    expect(entities.map((entity) => orm.idOf(entity))).toEqual(rows.map((row) => row.id))
    for (const column of columns) {
      const values = entities.map((entity) => orm.plain(entity)[column.property])
      expect(
        values.filter((value) => value === undefined),
        `${column.property} is mapped`,
      ).toEqual([])
      const json = isJson(column)
      if (json && jsonAsText) expect(values, column.column).toEqual(rows.map((row) => row.values[column.column]))
      const hydratesNull = (input: string | null): boolean =>
        input === null || (json && !jsonAsText && input === 'null')
      const nullIds = rows.filter((row) => hydratesNull(row.values[column.column]!)).map((row) => row.id)
      expect(
        entities.filter((_, i) => values[i] === null).map((entity) => orm.idOf(entity)),
        column.column,
      ).toEqual(nullIds)
    }
  })

  for (const column of columns) {
    const hydrate = isJson(column) && jsonAsText ? 'the text the database sent' : column.hydrate
    describe(`${column.column} ${column.sqlType}${hydrate ? ` (hydrated: ${hydrate})` : ''}`, () => {
      for (const direction of ['asc', 'desc'] as const) {
        it(`${direction}: ${title(column, dialect)}`, async () => {
          const reference = await settle(orm.reference(column.property, direction))
          if (column.unorderable) {
            expect(reference.ok, 'the database cannot order this type, so the reference query fails').toBe(false)
            expect(describeError(reference.error)).toMatch(noOrderingOperator)
          } else if (!reference.ok) {
            throw reference.error
          }
          const expected = reference.ok ? reference.value : []
          await fc.assert(
            fc.asyncProperty(
              fc.constantFrom(...matrixChunkSizes),
              fc.integer({ min: 1, max: 12 }),
              fc.constantFrom<ConformanceStrategy>('keyset', 'auto'),
              async (chunkSize, batchYieldSize, strategy) => {
                const run = await boundedRun(
                  () => orm.aiterator(column.property, direction, { chunkSize, batchYieldSize, strategy }),
                  rows.length,
                )
                const behaviour = expectedBehaviour(column, strategy, dialect)
                if (behaviour === 'sequence') expectSequence(orm, expected, run, batchYieldSize)
                else if (behaviour === 'refusal') expectRefusal(driver, column, run)
                else expectReferenceError(driver, run)
              },
            ),
            {
              numRuns,
              endOnFailure: true,
              examples: [
                [1, 4, 'keyset'],
                [7, 3, 'auto'],
              ],
            },
          )
        })
      }
    })
  }
}

/** The test title: what the matrix promises for the column. */
function title(column: MatrixColumn, dialect: Dialect): string {
  if (column.keyset === 'exact') return `keyset and auto yield exactly the reference sequence (${column.note})`
  const auto = !hasCursor(dialect)
    ? 'auto refuses too (no cursor)'
    : column.unorderable
      ? 'auto takes the cursor, which fails as the reference query does'
      : 'auto takes the cursor and yields exactly the reference sequence'
  return `keyset refuses with a KeysetOrderingError naming the column, before any row; ${auto} (${column.note})`
}

function expectedBehaviour(column: MatrixColumn, strategy: ConformanceStrategy, dialect: Dialect): Behaviour {
  if (column.keyset === 'exact' || strategy === 'cursor') return column.unorderable ? 'reference error' : 'sequence'
  if (strategy === 'keyset' || !hasCursor(dialect)) return 'refusal'
  return column.unorderable ? 'reference error' : 'sequence'
}

const hasCursor = (dialect: Dialect): boolean => dialect === 'postgres'

const isJson = (column: MatrixColumn): boolean => column.sqlType.startsWith('json')

/** Same ids in the same order, each once, nothing thrown, same hydrated values, batches full except the last. */
function expectSequence(
  orm: TypeMatrixOrm,
  expected: readonly object[],
  run: BoundedRun<object>,
  batchYieldSize: number,
): void {
  const actual = run.batches.flat()
  const idOf = (entity: object): number => orm.idOf(entity)
  expect(sequenceDiagnosis(expected.map(idOf), run, actual.map(idOf)), 'aiterator against the reference query').toBe('')
  expect(actual.map((entity) => comparable(orm.plain(entity)))).toEqual(
    expected.map((entity) => comparable(orm.plain(entity))),
  )
  run.batches.forEach((batch, i) => {
    if (i < run.batches.length - 1) expect(batch.length).toBe(batchYieldSize)
    else expect(batch.length).toBeGreaterThanOrEqual(1)
  })
}

/** A `KeysetOrderingError` naming the column (its SQL name or its property), before any row. */
function expectRefusal(driver: TypeMatrixDriver, column: MatrixColumn, run: BoundedRun<object>): void {
  const yielded = run.batches.flat().length
  expect(
    run.threw,
    `expected a KeysetOrderingError, but the run ${run.overran ? 'was stopped after' : 'ended with'} ${yielded} entities`,
  ).toBe(true)
  expect(yielded, 'entities yielded before the refusal').toBe(0)
  expect(run.error, describeError(run.error)).toBeInstanceOf(driver.KeysetOrderingError)
  expect((run.error as Error).message).toMatch(new RegExp(`\\b(${column.column}|${column.property})\\b`))
}

/** The database's own error for an ORDER BY it cannot run, as the reference query got, before any row. */
function expectReferenceError(driver: TypeMatrixDriver, run: BoundedRun<object>): void {
  expect(run.threw, `expected the database's error, but the run yielded ${run.batches.flat().length} entities`).toBe(
    true,
  )
  expect(run.batches).toEqual([])
  expect(run.error).not.toBeInstanceOf(driver.KeysetOrderingError)
  expect(describeError(run.error)).toMatch(noOrderingOperator)
}

async function settle<T>(
  promise: Promise<T>,
): Promise<{ ok: true; value: T; error?: undefined } | { ok: false; error: unknown; value?: undefined }> {
  try {
    return { ok: true, value: await promise }
  } catch (error) {
    return { ok: false, error }
  }
}
