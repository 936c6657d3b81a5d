/**
 * What an adapter implements to run the conformance suite: a small driver that opens its ORM on a
 * test database, runs the reference query (TypeORM `getMany()`, MikroORM `em.find`) and `aiterator`
 * over the same ordering, and maps entities to plain values. The suite knows no ORM: everything
 * ORM-specific is behind these interfaces, and each adapter's test folder holds its driver.
 *
 * @example
 * ```ts
 * // packages/<adapter>/test/conformance.postgres.test.ts
 * import { defineTypeMatrixSuite } from '@batchyield/test-fixtures/conformance'
 * describe('TypeORM on PostgreSQL: type matrix', () => defineTypeMatrixSuite(typeormMatrixDriver('postgres')))
 * ```
 */
import type { Dialect } from '#src/dialect'

/** The strategies the conformance suite runs. */
export type ConformanceStrategy = 'keyset' | 'cursor' | 'auto'

/** A sort direction. */
export type Direction = 'asc' | 'desc'

/** An error class an adapter exports (`KeysetOrderingError`). */
export type ErrorClass = abstract new (...args: never[]) => Error

/** The type-matrix part of a driver: an ORM with an entity mapping every column of `type_matrix`. */
export interface TypeMatrixDriver {
  /** The adapter's name in test titles (`'TypeORM'`, `'MikroORM'`). */
  readonly adapter: string
  readonly dialect: Dialect
  /** The adapter's `KeysetOrderingError` (re-exported from `@batchyield/batch-core`). */
  readonly KeysetOrderingError: ErrorClass
  /**
   * How the ORM hydrates a JSON column: `'parsed'` (the default) the parsed value, so the JSON `null` hydrates
   * null; `'text'` the text the database sent, unparsed (MikroORM 7.0's MySQL driver on MariaDB, where JSON
   * is a LONGTEXT). The suite asserts it row by row.
   */
  readonly jsonHydration?: 'parsed' | 'text'
  /**
   * Opens the ORM on `url`, whose `type_matrix` table the suite created, with an entity that maps
   * `id` and every {@link MatrixColumn} of the dialect to its `property` (hydrated as its `hydrate` says).
   */
  open(url: string): Promise<TypeMatrixOrm>
}

/** An ORM opened by a {@link TypeMatrixDriver}. */
export interface TypeMatrixOrm {
  /**
   * The reference: every row of `type_matrix` as entities, ordered by `property` then `id`, both in
   * `direction` (TypeORM `getMany()`, MikroORM `em.find` in a fresh fork).
   */
  reference(property: string, direction: Direction): Promise<readonly object[]>
  /**
   * `aiterator` over every row of `type_matrix`, ordered by `property` in `direction` (the adapter
   * appends the primary key), with these options. It may throw at the call.
   */
  aiterator(
    property: string,
    direction: Direction,
    options: { chunkSize: number; batchYieldSize: number; strategy: ConformanceStrategy },
  ): AsyncIterable<readonly object[]>
  /** The entity's `id`. */
  idOf(entity: object): number
  /** The entity's mapped properties (`id` and every matrix property) as the ORM hydrated them. */
  plain(entity: object): Record<string, unknown>
  close(): Promise<void>
}
