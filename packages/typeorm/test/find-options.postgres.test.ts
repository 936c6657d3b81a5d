import { describe } from 'vitest'
import { defineFindOptionsSuite } from './support/find-options-suite.js'

describe('repo.aiterator / manager.aiterator / aiteratorFind on PostgreSQL: results equal repo.find', () => {
  defineFindOptionsSuite('postgres')
})
