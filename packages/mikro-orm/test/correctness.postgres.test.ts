import { describe } from 'vitest'
import { defineCorrectnessSuite } from './suites/correctness.js'

describe('em.aiterator on PostgreSQL: results equal em.find', () => {
  defineCorrectnessSuite('postgres')
})
