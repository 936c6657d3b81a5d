import { describe } from 'vitest'
import { defineCleanupSuite } from './suites/cleanup.js'

describe('clean-up on PostgreSQL: every way out releases the connection and leaves no open transaction', () => {
  defineCleanupSuite('postgres')
})
