import { defineTypeMatrixSuite } from '@batchyield/test-fixtures/conformance'
import { describe } from 'vitest'
import { mikroOrmMatrixDriver } from './conformance-driver.js'

describe('MikroORM on MariaDB: the type matrix', () => {
  defineTypeMatrixSuite(mikroOrmMatrixDriver('mariadb'))
})
