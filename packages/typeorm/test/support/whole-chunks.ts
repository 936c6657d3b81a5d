/**
 * Options for tests that pin what each round trip reads (which SELECT goes out when, how many rows
 * one chunk holds): without the byte bound, every request is `chunkSize` rows from the first one
 * on (none sized by the rows' width). The byte bound itself is tested in wide-rows.test.ts.
 */
export const WHOLE_CHUNKS = { maxChunkBytes: Number.POSITIVE_INFINITY } as const
