import { describe } from 'vitest'
import { defineEntityParitySuite } from './suites/entity-parity.js'

describe('em.aiterator on MariaDB: plain reads create what em.find creates, entity by entity', () => {
  defineEntityParitySuite('mariadb')
})
