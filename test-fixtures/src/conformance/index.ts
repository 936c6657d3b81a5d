/**
 * The conformance suite both adapters run (`@batchyield/test-fixtures/conformance`): scenarios written
 * once, each adapter supplying a small driver (see {@link TypeMatrixDriver}). It imports no ORM.
 */
export { type BoundedRun, boundedRun, describeError, sequenceDiagnosis } from '#src/conformance/bounded-run'
export { defineCleanupSuite } from '#src/conformance/cleanup-suite'
export { comparable } from '#src/conformance/comparable'
export { defineConcurrencySuite } from '#src/conformance/concurrency-suite'
export {
  correctnessCases,
  correctnessSizes,
  defineCorrectnessSuite,
  isTotalOrder,
} from '#src/conformance/correctness-suite'
export type {
  ConformanceStrategy,
  Direction,
  ErrorClass,
  TypeMatrixDriver,
  TypeMatrixOrm,
} from '#src/conformance/driver'
export { collect, expectBatches, expectSameEntities } from '#src/conformance/expect-entities'
export {
  type FixtureDriver,
  type FixtureOrm,
  type FixtureQuery,
  type FixtureRunOptions,
  fixturePrimaryKeys,
  type FixtureTableName,
  type PartitionMethodName,
  type PoolState,
  type SortTerm,
  withPrimaryKey,
} from '#src/conformance/fixture-driver'
export { defineHostileKeysSuite, extraHostileKeys, nulHostileKeys } from '#src/conformance/hostile-keys-suite'
export { defaultMatrixRows, type MatrixRow, matrixRows, type MatrixRowsOptions } from '#src/conformance/matrix-rows'
export { createTypeMatrix, matrixTableStatements } from '#src/conformance/matrix-table'
export { mariadbPools, postgresPools, type ValuePool } from '#src/conformance/matrix-values'
export { definePartitionSuite, partitionShapes } from '#src/conformance/partition-suite'
export { defineResumeSuite } from '#src/conformance/resume-suite'
export { expectSettled } from '#src/conformance/settled'
export { failureOf } from '#src/conformance/failure-of'
export {
  type KeysetOutcome,
  type MatrixColumn,
  matrixColumns,
  typeMatrix,
  typeMatrixTable,
} from '#src/conformance/type-matrix'
export {
  defineTypeMatrixSuite,
  matrixChunkSizes,
  type TypeMatrixSuiteOptions,
} from '#src/conformance/type-matrix-suite'
export { doubleNeighbourhood, float32Neighbourhood, nextDouble, nextFloat32 } from '#src/conformance/ulp'
