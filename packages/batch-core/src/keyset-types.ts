// CONTRACT (written before the implementation; the keyset helper implements these in
// seek-predicate.ts and resume-token.ts and may move these types there).

export type SortDirection = 'asc' | 'desc'
export type NullsPlacement = 'first' | 'last'

/** One column of a keyset ordering, as the adapter resolved it from ORM metadata. */
export interface SortKey {
  /** Adapter-defined name of the column/property (opaque to the core). */
  readonly field: string
  readonly direction: SortDirection
  /** Where NULLs sort. Adapters pass what the database actually does when the user did not say. */
  readonly nulls: NullsPlacement
  /** False when the column can never be NULL (lets the predicate skip IS NULL terms). Default true. */
  readonly nullable?: boolean
}

/** A dialect-neutral boolean expression that adapters translate into their ORM's query. */
export type SeekPredicate =
  | { readonly kind: 'or'; readonly terms: readonly SeekPredicate[] }
  | { readonly kind: 'and'; readonly terms: readonly SeekPredicate[] }
  | { readonly kind: 'compare'; readonly field: string; readonly op: '<' | '>' | '='; readonly value: unknown }
  | { readonly kind: 'isNull'; readonly field: string }
  | { readonly kind: 'isNotNull'; readonly field: string }
  | { readonly kind: 'false' }

/**
 * seekPredicate(keys, lastValues): rows strictly after the row whose key values are
 * `lastValues`, in the expanded form `k1 > x1 OR (k1 = x1 AND k2 > x2) OR ...`, honouring
 * each key's direction and NULL placement. Never contains a comparison with a NULL value.
 * Returns `{ kind: 'false' }` when nothing can come after.
 */
export declare function seekPredicate(keys: readonly SortKey[], lastValues: readonly unknown[]): SeekPredicate

/**
 * encodeResumeToken(shape, values) -> opaque URL-safe string.
 * decodeResumeToken(token, shape) -> values, or throws InvalidResumeTokenError when the token is
 * malformed, tampered with, or was made for a different shape.
 * `shape` identifies the query: the sort keys plus an adapter-supplied fingerprint (entity name etc.).
 */
export interface KeyShape {
  readonly keys: readonly SortKey[]
  /** e.g. the entity/table name; tokens from another fingerprint are rejected. */
  readonly fingerprint: string
}
export declare function encodeResumeToken(shape: KeyShape, values: readonly unknown[]): string
export declare function decodeResumeToken(token: string, shape: KeyShape): unknown[]
