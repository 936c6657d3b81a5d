import { defineHostileKeysSuite } from '@batchyield/test-fixtures/conformance'
import { describe } from 'vitest'
import { mikroOrmFixtureDriver } from './conformance-driver.js'

describe('em.aiterator on PostgreSQL: hostile string keys (the conformance scenario)', () => {
  defineHostileKeysSuite(mikroOrmFixtureDriver('postgres'))
})
