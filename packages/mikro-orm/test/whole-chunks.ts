/**
 * Options for tests that pin what each round trip reads (which statement goes out when, how many
 * rows one chunk holds): without the byte bound no request is sized by the rows' width; the first one
 * is still the first batch (`batchYieldSize` rows, at most `chunkSize`), every later one `chunkSize`. The byte bound itself is tested in cursor-wide-rows.postgres.test.ts.
 */
export const WHOLE_CHUNKS = { maxChunkBytes: Number.POSITIVE_INFINITY } as const
