import { defineTypeMatrixSuite } from '@batchyield/test-fixtures/conformance'
import { describe } from 'vitest'
import { typeormMatrixDriver } from './support/conformance-driver.js'

describe('TypeORM on PostgreSQL: the type matrix', () => {
  defineTypeMatrixSuite(typeormMatrixDriver('postgres'))
})
