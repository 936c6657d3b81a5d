// An ESM MikroORM 6 project (no @mikro-orm/sql installed): em.aiterator() from the side-effect import, qb.aiterator()
// on MikroORM 6's QueryBuilder (@mikro-orm/knex) and aiteratorQueryBuilder(), typed as getResultList(), flushBatch().
import { aiteratorQueryBuilder, flushBatch } from '@batchyield/mikro-orm'
import { EntitySchema, type Loaded } from '@mikro-orm/core'
import { MikroORM } from '@mikro-orm/postgresql'

const ROWS = 23
const table = `consumer_mikro_orm_6_esm_${process.pid}`

class Item {
  id!: number
  name!: string
  done!: boolean
}
const ItemSchema = new EntitySchema<Item>({
  class: Item,
  tableName: table,
  properties: { id: { type: 'integer', primary: true }, name: { type: 'string' }, done: { type: 'boolean' } },
})

type IsAny<T> = 0 extends 1 & T ? true : false
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false

const orm = await MikroORM.init({ clientUrl: process.env.DATABASE_URL, entities: [ItemSchema] })
const em = orm.em.fork()
try {
  await em
    .getConnection()
    .execute(
      `CREATE TABLE "${table}" (id integer PRIMARY KEY, name text NOT NULL, done boolean NOT NULL DEFAULT false)`,
    )
  await em
    .getConnection()
    .execute(`INSERT INTO "${table}" (id, name) SELECT g, 'item ' || g FROM generate_series(1, ${ROWS}) g`)
  const runs: string[] = []
  for (const strategy of ['keyset', 'cursor'] as const) {
    const ids: number[] = []
    for await (const batch of em.aiterator(Item, { batchYieldSize: 4, chunkSize: 3, strategy })) {
      const notAny: IsAny<typeof batch> = false
      void notAny
      for (const item of batch) {
        if (!(item instanceof Item) || item.name !== `item ${item.id}`)
          throw new Error(`not a hydrated Item: ${JSON.stringify(item)}`)
        ids.push(item.id)
      }
    }
    runs.push(everyRowOnce(`em.aiterator ${strategy}`, ids))
    // the query builder forms (MikroORM 6's, from @mikro-orm/knex): typed as qb.getResultList() returns
    const viaQb: number[] = []
    const viaFunction: number[] = []
    const qb = em
      .createQueryBuilder(Item, 'i')
      .select('*')
      .where({ name: { $like: 'item %' } })
      .orderBy({ id: 'desc' })
    const batches = qb.aiterator(4, { chunkSize: 3, strategy })
    const typed: Equal<typeof batches, AsyncGenerator<Loaded<Item, never>[], void, undefined>> = true
    void typed
    for await (const batch of batches) for (const item of batch) viaQb.push(item.id)
    const viaFunctionBatches = aiteratorQueryBuilder(qb, 4, { chunkSize: 3, strategy })
    const typedFunction: Equal<typeof viaFunctionBatches, typeof batches> = true
    void typedFunction
    for await (const batch of viaFunctionBatches) for (const item of batch) viaFunction.push(item.id)
    runs.push(everyRowOnce(`qb.aiterator ${strategy}`, viaQb.reverse()))
    runs.push(everyRowOnce(`aiteratorQueryBuilder ${strategy}`, viaFunction.reverse()))
  }
  // A backfill: change each batch and save it through the fork that loaded it.
  for await (const batch of em.aiterator(Item, { where: { done: false }, batchYieldSize: 5, chunkSize: 4 })) {
    for (const item of batch) item.done = true
    await flushBatch(batch)
  }
  const [{ done }] = await em
    .getConnection()
    .execute<{ done: string }[]>(`SELECT count(*) AS done FROM "${table}" WHERE done`)
  if (Number(done) !== ROWS) throw new Error(`flushBatch: expected ${ROWS} rows done, found ${done}`)
  runs.push(`flushBatch ${done} rows saved`)
  console.log(`consumer mikro-orm-6-esm ok: ${runs.join('; ')}`)
} finally {
  await em.getConnection().execute(`DROP TABLE IF EXISTS "${table}"`)
  await orm.close(true)
}

/** Throws unless `ids` holds 1..ROWS, each once, in order. */
function everyRowOnce(run: string, ids: readonly number[]): string {
  const expected = Array.from({ length: ROWS }, (_, i) => i + 1)
  if (ids.join() !== expected.join()) throw new Error(`${run}: expected ids ${expected.join()}, received ${ids.join()}`)
  return `${run} ${ids.length} rows once`
}
