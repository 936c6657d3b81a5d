import { describe } from 'vitest'
import { defineHostileKeysSuite } from './suites/hostile-keys.js'

describe('hostile string keys on MariaDB: keyset seeks and resume tokens equal em.find', () => {
  defineHostileKeysSuite('mariadb')
})
