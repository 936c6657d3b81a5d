import { describe } from 'vitest'
import { defineCleanupSuite } from './suites/cleanup.js'

describe('clean-up on MariaDB: every way out releases the connection and leaves no open transaction', () => {
  defineCleanupSuite('mariadb')
})
