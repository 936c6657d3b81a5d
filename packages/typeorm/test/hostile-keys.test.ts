import { defineHostileKeysSuite } from '@batchyield/test-fixtures/conformance'
import { describe } from 'vitest'
import { typeormFixtureDriver } from './support/conformance-driver.js'

// The conformance scenario (@batchyield/test-fixtures/conformance): hostile string keys as seek values
// and resume-token values, on both databases.

describe('hostile string keys on PostgreSQL', () => {
  defineHostileKeysSuite(typeormFixtureDriver('postgres'))
})

describe('hostile string keys on MariaDB', () => {
  defineHostileKeysSuite(typeormFixtureDriver('mariadb'))
})
