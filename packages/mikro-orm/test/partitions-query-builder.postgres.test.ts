import { describe } from 'vitest'
import { definePartitionsQueryBuilderSuite } from './suites/partitions.js'

describe('partitionsQueryBuilder and qb.aiterator({ partition }) on postgres', () => {
  definePartitionsQueryBuilderSuite('postgres')
})
