// A CommonJS project on TypeORM 0.3 (still maintained, in @nestjs/typeorm's peer range): every strategy through
// the query builder and the repository, on the paths the adapter picks for 0.3 (0.3 has `connection`, not `dataSource`, on a query builder).
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import 'reflect-metadata'
import '@batchyield/typeorm'
import { Column, DataSource, Entity, MoreThan, PrimaryColumn } from 'typeorm'

const ROWS = 29
const table = `consumer_typeorm_03_cjs_${process.pid}`

@Entity({ name: table })
class Item {
  @PrimaryColumn() id!: number
  @Column() name!: string
}

async function main(): Promise<void> {
  // typeorm 0.3's exports map has no ./package.json: read the file beside its entry point
  const { version } = JSON.parse(readFileSync(join(dirname(require.resolve('typeorm')), 'package.json'), 'utf8')) as {
    version: string
  }
  if (!version.startsWith('0.3.')) throw new Error(`expected TypeORM 0.3, found ${version}`)
  const dataSource = new DataSource({ type: 'postgres', url: process.env.DATABASE_URL, entities: [Item] })
  await dataSource.initialize()
  try {
    await dataSource.query(`CREATE TABLE "${table}" (id integer PRIMARY KEY, name text NOT NULL)`)
    await dataSource.query(`INSERT INTO "${table}" SELECT g, 'item ' || g FROM generate_series(1, ${ROWS}) g`)
    const repo = dataSource.getRepository(Item)
    const runs: string[] = []
    for (const strategy of ['keyset', 'cursor', 'auto'] as const) {
      const viaBuilder: number[] = []
      for await (const batch of repo
        .createQueryBuilder('i')
        .orderBy('i.name', 'ASC')
        .aiterator({ batchYieldSize: 4, chunkSize: 3, strategy })) {
        const typed: Item[] = batch
        viaBuilder.push(...hydratedIds(typed))
      }
      // ordered by name: 'item 1', 'item 10', 'item 11', …: the same ids as by id, in text order
      runs.push(
        everyRowOnce(
          `qb.aiterator ${strategy}`,
          viaBuilder,
          [...expectedIds()].sort((a, b) => (`item ${a}` < `item ${b}` ? -1 : 1)),
        ),
      )
      const viaRepository: number[] = []
      for await (const batch of repo.aiterator({ where: { id: MoreThan(0) }, order: { id: 'ASC' } }, 5, {
        chunkSize: 2,
        strategy,
      })) {
        const typed: Item[] = batch
        viaRepository.push(...hydratedIds(typed))
      }
      runs.push(everyRowOnce(`repo.aiterator ${strategy}`, viaRepository, expectedIds()))
    }
    console.log(`consumer typeorm-0.3-cjs ok: TypeORM ${version}: ${runs.join('; ')}`)
  } finally {
    await dataSource.query(`DROP TABLE IF EXISTS "${table}"`)
    await dataSource.destroy()
  }
}

function hydratedIds(items: readonly Item[]): number[] {
  for (const item of items)
    if (!(item instanceof Item) || item.name !== `item ${item.id}`)
      throw new Error(`not a hydrated Item: ${JSON.stringify(item)}`)
  return items.map((item) => item.id)
}

const expectedIds = (): number[] => Array.from({ length: ROWS }, (_, i) => i + 1)

/** Throws unless `ids` is `expected`: every row once, in order. */
function everyRowOnce(run: string, ids: readonly number[], expected: readonly number[]): string {
  if (ids.join() !== expected.join()) throw new Error(`${run}: expected ids ${expected.join()}, received ${ids.join()}`)
  return `${run} ${ids.length} rows once`
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
