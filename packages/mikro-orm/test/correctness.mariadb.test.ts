import { describe } from 'vitest'
import { defineCorrectnessSuite } from './suites/correctness.js'

describe('em.aiterator on MariaDB: results equal em.find (keyset)', () => {
  defineCorrectnessSuite('mariadb')
})
