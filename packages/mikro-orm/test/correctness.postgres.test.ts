import { defineCorrectnessSuite } from '@batchyield/test-fixtures/conformance'
import { describe } from 'vitest'
import { mikroOrmFixtureDriver } from './conformance-driver.js'
import { defineMikroOrmCorrectnessSuite } from './suites/correctness.js'

describe('em.aiterator on PostgreSQL: results equal em.find', () => {
  describe('the conformance scenario', () => {
    defineCorrectnessSuite(mikroOrmFixtureDriver('postgres'))
  })
  describe("MikroORM's own query options", () => {
    defineMikroOrmCorrectnessSuite('postgres')
  })
})
