/**
 * Export a table to an NDJSON file with TypeORM, in batches, memory bounded by the batch:
 *
 *   npm run export -w examples -- [--out events.ndjson] [--url postgres://…] [--rows N]
 *
 * Exports every non-test event (`is_test = false`), in primary-key order (keyset strategy).
 */
import '@batchyield/typeorm'
import { createWriteStream } from 'node:fs'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { EventSchema } from '@batchyield/bench/typeorm-event'
import { DataSource } from 'typeorm'
import { openExampleDatabase } from './example-database.ts'

const { db, args } = await openExampleDatabase({ out: { type: 'string' } })
const file = typeof args.out === 'string' ? args.out : 'events.ndjson'
const dataSource = new DataSource({ type: 'postgres', url: db.url, entities: [EventSchema] })
await dataSource.initialize()
try {
  const batches = dataSource
    .getRepository(EventSchema)
    .createQueryBuilder('e')
    .where('e.isTest = :isTest', { isTest: false })
    .aiterator(500)

  let rows = 0
  // One string per batch; pipeline() waits whenever the file stream's buffer is full (backpressure).
  async function* lines() {
    for await (const events of batches) {
      rows += events.length
      yield events.map((event) => `${JSON.stringify(event)}\n`).join('')
    }
  }
  await pipeline(Readable.from(lines()), createWriteStream(file))
  console.log(`exported ${rows} events to ${file}`)
} finally {
  await dataSource.destroy()
  await db.close()
}
