import { describe } from 'vitest'
import { defineQueryBuilderSuite } from './suites/query-builder.js'

describe('qb.aiterator on MariaDB: results equal qb.getResultList()', () => {
  defineQueryBuilderSuite('mariadb')
})
