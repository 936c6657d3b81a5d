import { defineCorrectnessSuite } from '@batchyield/test-fixtures/conformance'
import { describe } from 'vitest'
import { mikroOrmFixtureDriver } from './conformance-driver.js'
import { defineMikroOrmCorrectnessSuite } from './suites/correctness.js'

describe('em.aiterator on MariaDB: results equal em.find (keyset)', () => {
  describe('the conformance scenario', () => {
    defineCorrectnessSuite(mikroOrmFixtureDriver('mariadb'))
  })
  describe("MikroORM's own query options", () => {
    defineMikroOrmCorrectnessSuite('mariadb')
  })
})
