/**
 * A cursor FETCH outlasting pg's `query_timeout` (issue 16), on a pool of one connection: the loop throws
 * and the connection, still in the cursor's read-only transaction, never serves the pool's next user. On
 * 7.2 the cursor ends the pg client it holds; MikroORM 7.0 and 7.1 hand out no pg client, and the session
 * is terminated from a connection of its own (src/server-side-cursor.ts), so these run on 7.0 and 7.1 too.
 * The same across a network cut: cursor-faults.postgres.test.ts.
 */
import { failureOf } from '@batchyield/test-fixtures/conformance'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { DriverException, type Options, raw } from '@mikro-orm/core'
import { afterEach, describe, expect, it } from 'vitest'
import '../src/index.js'
import { Book } from './entities.js'
import {
  expectSettled,
  idleInTransaction,
  nextUserWritesAndReads,
  openOrm,
  pgClientOptions,
  type TestOrm,
  untilNoneActive,
  within,
} from './support.js'

const db = useTestDatabase('postgres', { seed: true })
let t: TestOrm | undefined
afterEach(async () => {
  await t?.close()
  t = undefined
})

// 50 ms per row evaluated: a FETCH of 20 rows takes about a second
// a function: MikroORM 6 reads a raw() key for one run only (its keys are strings used up by the query)
const slow = () => ({ [raw('pg_sleep(0.05) is not null')]: true })

const configurations: readonly [string, Partial<Options>][] = [
  ["MikroORM's own pg pool", {}],
  ['a connection held through MikroORM (onReserveConnection)', { onReserveConnection: async () => {} }],
]

describe("pg's query_timeout shorter than a FETCH (issue 16)", () => {
  for (const [name, config] of configurations) {
    for (const populate of [[], ['author']] as const) {
      it(`${name}, ${populate.length === 0 ? 'a plain read' : 'with populate (key cursor)'}: the loop throws "Query read timeout"; the connection, still in the cursor's read-only transaction, is destroyed: the next user writes and reads fresh data, nothing is left in a transaction`, async () => {
        t = openOrm('postgres', db.url, {
          pool: { min: 0, max: 1 },
          driverOptions: pgClientOptions({ query_timeout: 300 }),
          ...config,
        })
        const error = await within(
          10_000,
          failureOf(
            (async () => {
              for await (const _ of t!.em.aiterator(Book, {
                where: slow(),
                strategy: 'cursor',
                chunkSize: 20,
                batchYieldSize: 20,
                prefetch: 0,
                populate: [...populate] as never,
              }));
            })(),
          ),
          'a cursor run across a query timeout',
        )
        expect(error).toBeInstanceOf(DriverException)
        expect((error as Error).message).toMatch(/Query read timeout/)
        await untilNoneActive(db.url) // the FETCH the driver gave up on has ended on the server
        await nextUserWritesAndReads(t, Math.min(...db.dataset.books.map((b) => b.id)))
        expect(await idleInTransaction(db.url, db.name)).toBe(0)
        await expectSettled(t.orm, db.url, db.name)
      })
    }
  }
})
