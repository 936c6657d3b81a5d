import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import type { DataSource } from 'typeorm'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { KeysetSource } from '../src/keyset-source.js'
import { openDataSource } from './support/data-source.js'
import { Book } from './support/entities.js'
import { expectCleanMariadbPool } from './support/pool.js'
import { leaveWhilePrefetching } from './support/early-exit.js'

// TypeORM's keyset source on MariaDB when the loop ends while a prefetched chunk is in flight: its
// close() runs once, nothing rejects unhandled, the pool is idle with no open transaction. (Writes
// during a run and many runs on a small pool are the conformance scenario, in concurrency.test.ts.)

const db = useTestDatabase('mariadb', { seed: true })
let one: DataSource
beforeAll(async () => {
  one = await openDataSource('mariadb', db.url, { poolSize: 1 })
})
afterAll(async () => {
  await one?.destroy()
})

describe('keyset on MariaDB, pool of one: the loop ends while a prefetched chunk is in flight', () => {
  it.each(['break', 'throw', 'abort'] as const)(
    '%s: no unhandled rejection, close() ran once, the pool is idle and the next query runs',
    async (exit) => {
      // SLEEP per row: the read-ahead SELECT of the next chunk is running when the loop ends.
      const slow = one.getRepository(Book).createQueryBuilder('b').where('SLEEP(0.01) = 0').orderBy('b.id', 'ASC')
      await leaveWhilePrefetching(slow, {
        exit,
        strategy: 'keyset',
        source: KeysetSource,
        expectCleanPool: () => expectCleanMariadbPool(one, db.url, db.name),
      })
    },
  )
})
