import { describe } from 'vitest'
import { defineQueryBuilderSuite } from './suites/query-builder.js'

describe('qb.aiterator on PostgreSQL: results equal qb.getResultList()', () => {
  defineQueryBuilderSuite('postgres')
})
