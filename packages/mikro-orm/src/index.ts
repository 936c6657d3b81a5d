import { installAiterator } from './install.js'

// `import '@batchyield/mikro-orm'` adds em.aiterator() to every EntityManager and qb.aiterator() to every QueryBuilder (idempotent).
installAiterator()

export { aiterator } from './aiterator.js'
export { entityManagerOf, flushBatch } from './batch-entity-manager.js'
export { installAiterator } from './install.js'
export { UnsupportedMikroOrmError } from './internals.js'
export { aiteratorQueryBuilder, type AnyQueryBuilder, type QueryBuilderAiteratorOptions } from './query-builder.js'
export type { AiteratorOptions, IterationStrategy } from './options.js'
export { InvalidResumeTokenError, KeysetOrderingError, StrategyUnavailableError } from '@batchyield/batch-core'
export type { BatchOptions, Progress } from '@batchyield/batch-core'
export {
  PARTITION_METHODS,
  type PartitionMethod,
  type PartitionOptions,
  partitions,
  partitionsQueryBuilder,
  type QueryBuilderPartitionOptions,
} from './partitions.js'
export { InvalidPartitionError, type KeysetBound, type PartitionDescriptor } from '@batchyield/batch-core'
