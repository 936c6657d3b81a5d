import { withConnection } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import type { DataSource } from 'typeorm'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { aiterator } from '../src/index.js'
import { collect } from './support/collect.js'
import { openDataSource } from './support/data-source.js'
import { Book } from './support/entities.js'
import { expectCleanPool } from './support/pool.js'

// The server takes the connection away mid-run. The loop must end with a clear error within a
// bounded time (or, for keyset, which holds nothing between chunks, simply carry on), and the pool
// must recover.

const db = useTestDatabase('postgres', { seed: true })
let ds: DataSource
beforeAll(async () => {
  ds = await openDataSource('postgres', db.url, { poolSize: 2 })
})
afterAll(async () => {
  await ds?.destroy()
})
afterEach(async () => {
  await withConnection(db.url, (c) => c.query(`ALTER DATABASE "${db.name}" RESET ALL`))
})

const books = () => ds.getRepository(Book).createQueryBuilder('b').orderBy('b.id')
const otherSession = (sql: string, params: unknown[] = []) => withConnection(db.url, (c) => c.query(sql, params))
const killBackends = () =>
  otherSession('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [db.name])
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('the backend is killed mid-run (pg_terminate_backend)', () => {
  it('cursor: the loop throws a connection error, the pool recovers, the next run works', async () => {
    const started = Date.now()
    let rows = 0
    await expect(async () => {
      for await (const batch of aiterator(books(), { batchYieldSize: 20, chunkSize: 20, prefetch: 0, strategy: 'cursor' })) {
        rows += batch.length
        if (rows === 40) await killBackends()
      }
    }).rejects.toThrow(/The cursor's database connection was closed during the run \((terminating connection due to administrator command|Connection terminated)/)
    expect(rows).toBe(40)
    expect(Date.now() - started).toBeLessThan(10_000)
    await expectCleanPool(ds, db.url, db.name)
    expect((await collect(aiterator(books(), { batchYieldSize: 100, strategy: 'cursor' }))).flat()).toHaveLength(db.dataset.books.length)
  })

  it('cursor: killed while a FETCH runs, the same clear error', async () => {
    const slow = ds.getRepository(Book).createQueryBuilder('b').where('pg_sleep(0.01) IS NOT NULL').orderBy('b.id')
    let rows = 0
    await expect(async () => {
      for await (const batch of aiterator(slow, { batchYieldSize: 20, chunkSize: 20, prefetch: 1, strategy: 'cursor' })) {
        rows += batch.length
        await sleep(50) // the prefetched FETCH (~200 ms) is running now
        await killBackends()
      }
    }).rejects.toThrow(/The cursor's database connection was closed during the run \((terminating connection due to administrator command|Connection terminated)/)
    expect(rows).toBe(20)
    await expectCleanPool(ds, db.url, db.name)
  })

  it('keyset: holds no connection between chunks, so the run carries on and sees every row once', async () => {
    const ids: number[] = []
    for await (const batch of aiterator(books(), { batchYieldSize: 20, chunkSize: 20, prefetch: 0, strategy: 'keyset' })) {
      ids.push(...batch.map((b) => b.id))
      if (ids.length === 40 || ids.length === 200) {
        await killBackends()
        await sleep(50) // let the pool notice its idle connections died
      }
    }
    expect(ids).toEqual(db.dataset.books.map((b) => b.id).sort((a, b) => a - b))
    await expectCleanPool(ds, db.url, db.name)
  })
})

describe('server timeouts during a cursor run', () => {
  it('idle_in_transaction_session_timeout (a slow loop body): clear error, nothing left open', async () => {
    await otherSession(`ALTER DATABASE "${db.name}" SET idle_in_transaction_session_timeout = '300ms'`)
    const fresh = await openDataSource('postgres', db.url, { poolSize: 1 })
    try {
      let batches = 0
      await expect(async () => {
        for await (const _ of aiterator(fresh.getRepository(Book).createQueryBuilder('b'), { batchYieldSize: 50, chunkSize: 50, prefetch: 0, strategy: 'cursor' })) {
          batches++
          await sleep(800)
        }
      }).rejects.toThrow(/The cursor's database connection was closed during the run \((terminating connection due to idle-in-transaction timeout|Connection terminated)/)
      expect(batches).toBe(1)
      await expectCleanPool(fresh, db.url, db.name)
    } finally {
      await fresh.destroy()
    }
  })

  it('statement_timeout on a FETCH: clear error, nothing left open', async () => {
    await otherSession(`ALTER DATABASE "${db.name}" SET statement_timeout = '200ms'`)
    const fresh = await openDataSource('postgres', db.url, { poolSize: 1 })
    try {
      const slow = fresh.getRepository(Book).createQueryBuilder('b').where('pg_sleep(0.05) IS NOT NULL').orderBy('b.id')
      await expect(collect(aiterator(slow, { batchYieldSize: 10, chunkSize: 10, strategy: 'cursor' }))).rejects.toThrow(/statement timeout/)
      await expectCleanPool(fresh, db.url, db.name)
    } finally {
      await fresh.destroy()
    }
  })
})
