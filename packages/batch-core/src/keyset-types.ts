/**
 * The vocabulary adapters and the keyset helpers share: an ordering as a list of sort keys, the
 * seek predicate built from it, and the shape a resume token is tied to.
 */

export type SortDirection = 'asc' | 'desc'
export type NullsPlacement = 'first' | 'last'

/**
 * One column of a keyset ordering, as the adapter resolved it from ORM metadata. The last key of
 * an ordering must be unique (adapters append the primary key), otherwise rows that tie on every
 * key can be skipped between two pages.
 *
 * @example
 * ```ts
 * const keys: SortKey[] = [
 *   { field: 'publishedAt', direction: 'desc', nulls: 'last' },
 *   { field: 'id', direction: 'asc', nulls: 'last', nullable: false },
 * ]
 * ```
 */
export interface SortKey {
  /** Adapter-defined name of the column/property (opaque to the core). */
  readonly field: string
  readonly direction: SortDirection
  /**
   * Where NULLs sort in the output, whatever the direction. Adapters pass what the database
   * actually does when the user did not say (PostgreSQL: last for asc, first for desc;
   * MariaDB/MySQL: first for asc, last for desc).
   */
  readonly nulls: NullsPlacement
  /** False when the column can never be NULL (lets the predicate skip IS NULL terms). Default true. */
  readonly nullable?: boolean
}

/**
 * A dialect-neutral boolean expression that adapters translate into their ORM's query, with
 * SQL semantics: `{ kind: 'compare', field: 'id', op: '>', value: 7 }` is `id > $1` with `$1 = 7`.
 * `value` is never null or undefined; NULL tests are `isNull`/`isNotNull`. `and`/`or` always have
 * two or more terms; `false` appears only as the whole predicate ("no row can come after").
 *
 * @example
 * ```ts
 * // (rating < 3) OR (rating = 3 AND id > 41), i.e. after the row { rating: 3, id: 41 } in
 * // ORDER BY rating DESC, id ASC:
 * const p: SeekPredicate = {
 *   kind: 'or',
 *   terms: [
 *     { kind: 'compare', field: 'rating', op: '<', value: 3 },
 *     { kind: 'and', terms: [
 *       { kind: 'compare', field: 'rating', op: '=', value: 3 },
 *       { kind: 'compare', field: 'id', op: '>', value: 41 },
 *     ] },
 *   ],
 * }
 * ```
 */
export type SeekPredicate =
  | { readonly kind: 'or'; readonly terms: readonly SeekPredicate[] }
  | { readonly kind: 'and'; readonly terms: readonly SeekPredicate[] }
  | { readonly kind: 'compare'; readonly field: string; readonly op: '<' | '>' | '='; readonly value: unknown }
  | { readonly kind: 'isNull'; readonly field: string }
  | { readonly kind: 'isNotNull'; readonly field: string }
  | { readonly kind: 'false' }

/**
 * What a resume token is tied to: the sort keys plus an adapter-supplied fingerprint (entity or
 * table name, say). A token made for another shape is rejected.
 *
 * @example
 * ```ts
 * const shape: KeyShape = {
 *   keys: [{ field: 'id', direction: 'asc', nulls: 'last', nullable: false }],
 *   fingerprint: 'Book',
 * }
 * ```
 */
export interface KeyShape {
  readonly keys: readonly SortKey[]
  /** e.g. the entity/table name; tokens from another fingerprint are rejected. */
  readonly fingerprint: string
}
