// The public surface of @batchyield/test-fixtures. vitest-only helpers live in '@batchyield/test-fixtures/vitest'.
export { type ConnectOptions, connect, type FixtureConnection, withConnection } from '#src/connection'
export {
  type AuthorRow,
  type BookRow,
  type BookTagRow,
  type CountryRow,
  compareCodePoints,
  type Dataset,
  type DatasetOptions,
  type DeviceRow,
  defaultCounts,
  defaultSeed,
  type FixtureCounts,
  formatCents,
  generateDataset,
  hostileCountryCodes,
  type OrderLineRow,
  resolveCounts,
  type TagRow,
} from '#src/dataset'
export {
  databaseNameOf,
  databaseUrls,
  defaultUrls,
  type Dialect,
  dialectOf,
  dialects,
  redactUrl,
  urlEnvVars,
  withDatabaseName,
} from '#src/dialect'
export {
  type EventRow,
  eventRow,
  eventsEpoch,
  eventValues,
  maxEventId,
  type SeedEventsOptions,
  seedEvents,
} from '#src/events'
export { createRandom, type Random } from '#src/prng'
export { assertDatabasesReachable, DatabaseUnreachableError, type ReachabilityOptions } from '#src/reachability'
export { type FixtureTable, fixtureTables, schemaStatements } from '#src/schema'
export { openQueryGate, type QueryGate } from '#src/query-gate'
export { type SeedOptions, seed } from '#src/seed'
export { type DatabaseSession, listSessions, terminateSessions } from '#src/sessions'
export {
  type CreateTestDatabaseOptions,
  createTestDatabase,
  dropStaleTestDatabases,
  quoteIdentifier,
  type TestDatabase,
  testDatabasePrefix,
} from '#src/test-database'
export { openTcpProxy, restartUnderGate, type TcpProxy } from '#src/tcp-proxy'
export { type PgBouncer, type PgBouncerOptions, type PgBouncerPoolMode, startPgBouncer } from '#src/pgbouncer'
