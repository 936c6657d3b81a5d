import { defineResumeSuite } from '@batchyield/test-fixtures/conformance'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { StrategyUnavailableError } from '../src/index.js'
import { Book } from './entities.js'
import { mikroOrmFixtureDriver } from './conformance-driver.js'
import { openOrm, type TestOrm } from './support.js'

describe('em.aiterator on PostgreSQL: resume tokens (the conformance scenario)', () => {
  defineResumeSuite(mikroOrmFixtureDriver('postgres'))
})

describe("em.aiterator on PostgreSQL: the error for after with strategy 'cursor'", () => {
  const db = useTestDatabase('postgres', { seed: true })
  let t: TestOrm
  beforeAll(() => {
    t = openOrm('postgres', db.url)
  })
  afterAll(() => t?.close())

  it('is a StrategyUnavailableError, thrown before any query', () => {
    expect(() => t.em.aiterator(Book, { strategy: 'cursor', after: 'AQ', batchYieldSize: 5 })).toThrow(
      StrategyUnavailableError,
    )
    expect(t.queries).toEqual([])
  })
})
