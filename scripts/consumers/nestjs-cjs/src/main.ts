import 'reflect-metadata'
import { NestFactory } from '@nestjs/core'
import { DataSource } from 'typeorm'
import { AppModule } from './app.module'
import { ITEMS_TABLE, Item } from './item.entity'
import { ItemsJob } from './items-job.service'

const ROWS = 23

async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(AppModule, { logger: ['error'] })
  const dataSource = app.get(DataSource)
  try {
    await dataSource.query(`CREATE TABLE "${ITEMS_TABLE}" (id integer PRIMARY KEY, name text NOT NULL)`)
    await dataSource.query(`INSERT INTO "${ITEMS_TABLE}" SELECT g, 'item ' || g FROM generate_series(1, ${ROWS}) g`)
    const runs: string[] = []
    for (const strategy of ['keyset', 'cursor'] as const) {
      const ids: number[] = []
      const batches = await app.get(ItemsJob).run(strategy, (batch) => {
        for (const item of batch) {
          if (!(item instanceof Item)) throw new Error(`not a hydrated Item: ${JSON.stringify(item)}`)
          ids.push(item.id)
        }
      })
      const expected = Array.from({ length: ROWS }, (_, i) => i + 1)
      if (ids.join() !== expected.join())
        throw new Error(`${strategy}: expected ids ${expected.join()}, received ${ids.join()}`)
      if (batches !== Math.ceil(ROWS / 4))
        throw new Error(`${strategy}: expected ${Math.ceil(ROWS / 4)} batches, received ${batches}`)
      runs.push(`ItemsJob ${strategy} ${ids.length} rows once in ${batches} batches`)
    }
    console.log(`consumer nestjs-cjs ok: ${runs.join('; ')}`)
  } finally {
    await dataSource.query(`DROP TABLE IF EXISTS "${ITEMS_TABLE}"`)
    await app.close()
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
