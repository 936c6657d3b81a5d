// A CommonJS TypeORM project as most are written: decorators with emitted metadata, `import` compiled to require().
import 'reflect-metadata'
import '@batchyield/typeorm'
import { Column, DataSource, Entity, Like, PrimaryColumn } from 'typeorm'

const ROWS = 23
const table = `consumer_typeorm_cjs_${process.pid}`

@Entity({ name: table })
class Item {
  @PrimaryColumn() id!: number
  @Column() name!: string
}

type IsAny<T> = 0 extends 1 & T ? true : false

async function main(): Promise<void> {
  const dataSource = new DataSource({ type: 'postgres', url: process.env.DATABASE_URL, entities: [Item] })
  await dataSource.initialize()
  try {
    await dataSource.query(`CREATE TABLE "${table}" (id integer PRIMARY KEY, name text NOT NULL)`)
    await dataSource.query(`INSERT INTO "${table}" SELECT g, 'item ' || g FROM generate_series(1, ${ROWS}) g`)
    const runs: string[] = []
    for (const strategy of ['keyset', 'cursor'] as const) {
      const ids: number[] = []
      for await (const batch of dataSource
        .getRepository(Item)
        .createQueryBuilder('i')
        .aiterator({ batchYieldSize: 4, chunkSize: 3, strategy })) {
        const typed: Item[] = batch
        const notAny: IsAny<typeof batch> = false
        void notAny
        for (const item of typed) {
          if (!(item instanceof Item) || item.name !== `item ${item.id}`)
            throw new Error(`not a hydrated Item: ${JSON.stringify(item)}`)
          ids.push(item.id)
        }
      }
      runs.push(everyRowOnce(`qb.aiterator ${strategy}`, ids))
    }
    // find options, through the repository and the entity manager
    const viaRepository: number[] = []
    for await (const batch of dataSource
      .getRepository(Item)
      .aiterator({ order: { id: 'DESC' } }, 4, { chunkSize: 3 })) {
      const typed: Item[] = batch
      viaRepository.push(...typed.map((item) => item.id))
    }
    runs.push(everyRowOnce('repo.aiterator(findOptions)', viaRepository.reverse()))
    const viaManager: number[] = []
    for await (const item of dataSource.manager.aiterator(
      Item,
      { where: { name: Like('item %') } },
      { chunkSize: 5 },
    )) {
      const typed: Item = item
      viaManager.push(typed.id)
    }
    runs.push(everyRowOnce('manager.aiterator(Entity, findOptions)', viaManager))
    console.log(`consumer typeorm-cjs ok: ${runs.join('; ')}`)
  } finally {
    await dataSource.query(`DROP TABLE IF EXISTS "${table}"`)
    await dataSource.destroy()
  }
}

/** Throws unless `ids` holds 1..ROWS, each once, in order. */
function everyRowOnce(run: string, ids: readonly number[]): string {
  const expected = Array.from({ length: ROWS }, (_, i) => i + 1)
  if (ids.join() !== expected.join()) throw new Error(`${run}: expected ids ${expected.join()}, received ${ids.join()}`)
  return `${run} ${ids.length} rows once`
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
