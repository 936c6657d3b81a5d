import { definePartitionSuite } from '@batchyield/test-fixtures/conformance'
import { describe } from 'vitest'
import { mikroOrmFixtureDriver } from './conformance-driver.js'

describe('em.aiterator on postgres: partitions (the conformance scenario)', () => {
  definePartitionSuite(mikroOrmFixtureDriver('postgres'))
})
