import { installAiterator } from './install.js'

// Importing the package adds qb.aiterator(), repo.aiterator() and manager.aiterator(); see installAiterator().
installAiterator()

export { aiterator } from './aiterator.js'
export { aiteratorFind } from './aiterator-find.js'
export { installAiterator } from './install.js'
export { UnsupportedTypeormError } from './internals.js'
export { STRATEGIES, type Strategy, type TypeormBatchOptions } from './options.js'
export type { BatchOptions, Progress } from '@batchyield/batch-core'
export {
  InvalidResumeTokenError,
  KeysetOrderingError,
  KeysetProgressError,
  StrategyUnavailableError,
} from '@batchyield/batch-core'
export { PARTITION_METHODS, type PartitionMethod, type PartitionOptions, partitions } from './partitions.js'
export { InvalidPartitionError, type KeysetBound, type PartitionDescriptor } from '@batchyield/batch-core'
