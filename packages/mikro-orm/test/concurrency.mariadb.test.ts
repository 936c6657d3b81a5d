import { defineConcurrencySuite } from '@batchyield/test-fixtures/conformance'
import { describe } from 'vitest'
import { mikroOrmFixtureDriver } from './conformance-driver.js'

describe('em.aiterator on MariaDB: concurrency (the conformance scenario)', () => {
  defineConcurrencySuite(mikroOrmFixtureDriver('mariadb'))
})
