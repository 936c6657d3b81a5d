/** What a measured job receives: where the data is and how to hand over what it read. */
export interface ModeConfig {
  /** PostgreSQL connection string of the seeded database. */
  url: string
  /** Rows per database round trip (the library's `chunkSize`, the floor's cursor read size, the offset page size). */
  chunkSize: number
  /** Entities per yielded list for the batching modes. */
  batchYieldSize: number
  /** Read at most this many rows (used to measure memory at a smaller scale on the same table); absent: all. */
  limit?: number
}

/** Size and session name of a bench connection pool. */
export interface BenchPoolOptions {
  /** Most connections the pool opens (default 2: one for the job, one spare). */
  max?: number
  /** PostgreSQL `application_name` of its sessions, to find them in `pg_stat_activity`. */
  applicationName?: string
}

/** Receives every batch (or page, or chunk, or single row wrapped in a list) the job produces. */
export type Sink = (items: readonly object[]) => void | Promise<void>

/** A connected job: setup (connections, metadata) is done and is not part of the timing. */
export interface PreparedJob {
  run(sink: Sink): Promise<void>
  /**
   * Which of the adapter's paths the run took (e.g. `{ keyset: 'fast' }`: its own reads and hydration
   * through ORM internals, or `'public'`: the ORM's public API), asked after the timed run.
   */
  paths?(): Promise<Readonly<Record<string, string>>>
  close(): Promise<void>
}

/** One way of reading a whole table (`events`, or `wide_events` for the wide modes), measured in its own process. */
export interface Mode {
  name: string
  library: 'pg' | 'TypeORM' | 'MikroORM'
  description: string
  /** Milliseconds the consumer awaits per batch (the slow-consumer modes); 0 for the rest. */
  consumerDelayMs: number
  /** Whether `limit` is honoured, so the mode can also be measured at a smaller scale. */
  supportsLimit: boolean
  /** What one item adds to the run's checksum; default: its `quantity` (the `events` modes). */
  checksumOf?: (item: object) => number
  prepare(config: ModeConfig): Promise<PreparedJob>
}

/**
 * Hands an async iterable's items to `sink` in lists of `size` (the last may be shorter). A plain
 * loop rather than batch-core's `abatched`, so the baselines pay nothing of ours.
 */
export async function sinkInLists(items: AsyncIterable<object>, size: number, sink: Sink): Promise<void> {
  let list: object[] = []
  for await (const item of items) {
    list.push(item)
    if (list.length === size) {
      await sink(list)
      list = []
    }
  }
  if (list.length) await sink(list)
}
