// What the examples reuse from the demo: its database (embedded or a server) and the seeded `events` table.
// The ORM entities are separate entry points so a script loads only the ORM it uses.
export {
  type DemoDatabase,
  defaultDataDir,
  demoDatabaseName,
  openDemoDatabase,
  type OpenDemoDatabaseOptions,
} from './demo-database.ts'
export { type EmbeddedPostgres, startEmbeddedPostgres } from './embedded-postgres.ts'
export { ensureEventsRows, ensureFixtureSchema } from './events-table.ts'
export { createProgressDisplay, type ProgressDisplay, type ProgressDisplayOptions } from './progress-bar.ts'
