import type { Dialect } from '@batchyield/test-fixtures'
import { defineConcurrencySuite } from '@batchyield/test-fixtures/conformance'
import { describe } from 'vitest'
import { typeormFixtureDriver } from './support/conformance-driver.js'

// Writes by another session during a run, and many runs sharing a small pool: the conformance
// scenario (@batchyield/test-fixtures/conformance), on both databases.

for (const dialect of ['postgres', 'mariadb'] as Dialect[]) {
  describe(`concurrency on ${dialect}`, () => {
    defineConcurrencySuite(typeormFixtureDriver(dialect))
  })
}
