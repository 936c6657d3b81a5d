import { definePartitionSuite } from '@batchyield/test-fixtures/conformance'
import { describe } from 'vitest'
import { mikroOrmFixtureDriver } from './conformance-driver.js'

describe('em.aiterator on mariadb: partitions (the conformance scenario)', () => {
  definePartitionSuite(mikroOrmFixtureDriver('mariadb'))
})
