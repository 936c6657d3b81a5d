/**
 * Whether a source sends each chunk's read before hydrating the previous chunk, so that the
 * database reads the next rows while this thread hydrates. Only when the caller asked for
 * read-ahead (`prefetch` >= 1), since it reads one chunk beyond what the engine requested: with
 * `prefetch: 0` a run reads only what the loop asks for. The read sent ahead asks for as many rows
 * as the engine's latest request: the engine sizes requests by `chunkSize` and, for wide rows, by
 * `maxChunkBytes`, and a read sent ahead must not undo that bound.
 */
export interface ReadAhead {
  readonly enabled?: boolean
}

/** The read-ahead a run's sources use, from its engine options. */
export function readAheadOf({ prefetch }: { readonly prefetch: number }): ReadAhead {
  return { enabled: prefetch > 0 }
}
