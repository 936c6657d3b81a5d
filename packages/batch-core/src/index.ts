export type { Chunk, ChunkSource, OpenChunkSource } from './chunk-source.js'
export type { BatchOptions, Progress } from './options.js'
export {
  BATCH_OPTION_NAMES,
  DEFAULT_CHUNK_SIZE,
  DEFAULT_MAX_CHUNK_BYTES,
  DEFAULT_PREFETCH,
  DEFAULT_RETRIES,
} from './options.js'
export type { ResolvedBatchOptions } from './options.js'
export { validateBatchOptions } from './options.js'
export { iterateChunks } from './iterate-chunks.js'
export {
  assertAbortSignal,
  assertBoolean,
  assertFunction,
  assertNonNegativeInteger,
  assertOneOf,
  assertOptionsObject,
  assertPositiveInteger,
  describeValue,
} from './validate.js'
export {
  ChunkTimeoutError,
  InvalidResumeTokenError,
  KeysetOrderingError,
  KeysetProgressError,
  StrategyUnavailableError,
} from './errors.js'
export { batched, type BatchedOptions } from './batched.js'
export { abatched, type AbatchedOptions } from './abatched.js'
export type { KeyShape, NullsPlacement, SeekPredicate, SortDirection, SortKey } from './keyset-types.js'
export { seekPredicate } from './seek-predicate.js'
export { decodeResumeToken, encodeResumeToken } from './resume-token.js'
export { ReadAheadRows, type RowLoad } from './read-ahead-rows.js'
export { TIMED_OUT, waitFor } from './wait-for.js'
export { type PausableStream, readsInTurns } from './reads-in-turns.js'
export {
  isExactKeyValue,
  type KeyDialect,
  type KeyType,
  keyType,
  type KeyValueKind,
  keyValueKind,
  normalizeColumnType,
  type RefusedKeyType,
} from './key-types.js'
export { KeysetProgress } from './keyset-progress.js'
export { type FailureKind, failureKind, isConnectionLoss, sqlStateOf } from './connection-loss.js'
export {
  type CursorConnection,
  CursorSession,
  type CursorSessionOptions,
  DEFAULT_CANCEL_WAIT_MS,
} from './cursor-session.js'
export { cancelNodePostgresStatement, type NodePostgresCancelTarget } from './node-postgres-cancel.js'
export { InvalidPartitionError } from './errors.js'
export {
  assertKeysetBound,
  type KeysetBound,
  type KeysetRange,
  type LeadingKeyRange,
  leadingKeyRanges,
  leadingValue,
  rangePredicate,
  reverseKeys,
} from './keyset-range.js'
export {
  describePartitions,
  type EncodedBound,
  PARTITION_FORMAT,
  type PartitionDescriptor,
  type PartitionQuery,
  partitionRange,
  type RangeOptions,
  resolveRangeOptions,
} from './partition-descriptor.js'
export { partitionSampleSize, samplePercent, splitPoints } from './partition-split.js'
export { boundStatement, type StatementBound } from './statement-timeout.js'
