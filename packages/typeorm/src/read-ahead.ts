/**
 * Whether a source sends each chunk's read before hydrating the previous chunk (`chunkSize`: yes,
 * that many rows), so that the database reads the next rows while this thread hydrates. Only
 * when the caller asked for read-ahead (`prefetch` >= 1), since it reads one chunk beyond what
 * the engine requested: with `prefetch: 0` a run reads only what the loop asks for.
 */
export interface ReadAhead {
  readonly chunkSize?: number
}

/** The read-ahead a run's sources use, from its engine options. */
export function readAheadOf({ prefetch, chunkSize }: { readonly prefetch: number; readonly chunkSize: number }): ReadAhead {
  return prefetch > 0 ? { chunkSize } : {}
}
