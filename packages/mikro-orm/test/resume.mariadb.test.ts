import { defineResumeSuite } from '@batchyield/test-fixtures/conformance'
import { describe } from 'vitest'
import { mikroOrmFixtureDriver } from './conformance-driver.js'

describe('em.aiterator on MariaDB: resume tokens (the conformance scenario)', () => {
  defineResumeSuite(mikroOrmFixtureDriver('mariadb'))
})
