import { describe } from 'vitest'
import { defineMicrosecondSuite } from './suites/microseconds.js'

describe('PostgreSQL timestamptz with microseconds', () => {
  defineMicrosecondSuite('postgres')
})
