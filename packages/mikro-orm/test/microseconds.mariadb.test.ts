import { describe } from 'vitest'
import { defineMicrosecondSuite } from './suites/microseconds.js'

describe('MariaDB datetime(6) with microseconds', () => {
  defineMicrosecondSuite('mariadb')
})
