// An ESM TypeORM project without decorators, using the function form (no prototype method needed).
import { aiterator, aiteratorFind } from '@batchyield/typeorm'
import { DataSource, EntitySchema } from 'typeorm'

const ROWS = 23
const table = `consumer_typeorm_esm_${process.pid}`

interface Item {
  id: number
  name: string
}
const ItemSchema = new EntitySchema<Item>({
  name: 'Item',
  tableName: table,
  columns: { id: { type: Number, primary: true }, name: { type: String } },
})

type IsAny<T> = 0 extends 1 & T ? true : false

const dataSource = new DataSource({ type: 'postgres', url: process.env.DATABASE_URL, entities: [ItemSchema] })
await dataSource.initialize()
try {
  await dataSource.query(`CREATE TABLE "${table}" (id integer PRIMARY KEY, name text NOT NULL)`)
  await dataSource.query(`INSERT INTO "${table}" SELECT g, 'item ' || g FROM generate_series(1, ${ROWS}) g`)
  const runs: string[] = []
  for (const strategy of ['keyset', 'cursor'] as const) {
    const ids: number[] = []
    const qb = dataSource.getRepository(ItemSchema).createQueryBuilder('i').orderBy('i.id', 'DESC')
    for await (const batch of aiterator(qb, 4, { chunkSize: 3, strategy })) {
      const typed: Item[] = batch
      const notAny: IsAny<typeof batch> = false
      void notAny
      for (const item of typed) ids.push(item.id)
    }
    runs.push(everyRowOnce(`aiterator(qb) ${strategy}`, ids.reverse()))
  }
  // One entity at a time: the method form is installed by the import too.
  const ids: number[] = []
  for await (const item of dataSource.getRepository(ItemSchema).createQueryBuilder('i').aiterator({ chunkSize: 5 })) {
    const typed: Item = item
    ids.push(typed.id)
  }
  runs.push(everyRowOnce('qb.aiterator() one at a time', ids))
  const found: number[] = []
  for await (const batch of aiteratorFind(
    dataSource.getRepository(ItemSchema),
    { order: { name: 'ASC', id: 'ASC' } },
    { batchYieldSize: 6, chunkSize: 4 },
  )) {
    const typed: Item[] = batch
    found.push(...typed.map((item) => item.id))
  }
  runs.push(
    everyRowOnce(
      'aiteratorFind(repo, findOptions)',
      found.sort((a, b) => a - b),
    ),
  )
  console.log(`consumer typeorm-esm ok: ${runs.join('; ')}`)
} finally {
  await dataSource.query(`DROP TABLE IF EXISTS "${table}"`)
  await dataSource.destroy()
}

/** Throws unless `ids` holds 1..ROWS, each once, in order. */
function everyRowOnce(run: string, ids: readonly number[]): string {
  const expected = Array.from({ length: ROWS }, (_, i) => i + 1)
  if (ids.join() !== expected.join()) throw new Error(`${run}: expected ids ${expected.join()}, received ${ids.join()}`)
  return `${run} ${ids.length} rows once`
}
