import { defineCleanupSuite } from '@batchyield/test-fixtures/conformance'
import { describe } from 'vitest'
import { mikroOrmFixtureDriver } from './conformance-driver.js'

describe('em.aiterator on PostgreSQL: clean-up on every way out (the conformance scenario)', () => {
  defineCleanupSuite(mikroOrmFixtureDriver('postgres'))
})
