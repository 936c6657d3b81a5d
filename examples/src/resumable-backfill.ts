/**
 * A backfill that survives being killed: fills the new column `events.amount_cents` from `amount` for every
 * row, with TypeORM (`qb.aiterator`, keyset strategy), and resumes where it stopped:
 *
 *   npm run backfill -w examples -- [--batch-size 500] [--delay-ms 0] [--restart] [--url postgres://…] [--rows N]
 *
 * Each batch's UPDATE and its checkpoint (the resume token `onProgress` reported for that batch) commit in
 * one transaction, so after a crash the checkpoint names exactly the last batch that was written: the next
 * run passes it as `after` and carries on with the next row. No row is skipped, none is updated twice.
 */
import '@batchyield/typeorm'
import { EventSchema } from '@batchyield/bench/typeorm-event'
import { DataSource } from 'typeorm'
import { numberArg, openExampleDatabase } from './example-database.ts'

const job = 'events.amount_cents'

/** "123.45" → 12345n, exactly (no floating point). */
function toCents(amount: string): bigint {
  const negative = amount.startsWith('-')
  const [whole = '0', fraction = ''] = amount.replace('-', '').split('.')
  const cents = BigInt(whole) * 100n + BigInt(fraction.padEnd(2, '0').slice(0, 2))
  return negative ? -cents : cents
}

const { db, args } = await openExampleDatabase({
  'batch-size': { type: 'string' },
  'delay-ms': { type: 'string' },
  restart: { type: 'boolean' },
})
const batchYieldSize = numberArg(args, 'batch-size', 500)
const delayMs = numberArg(args, 'delay-ms', 0)
const dataSource = new DataSource({ type: 'postgres', url: db.url, entities: [EventSchema] })
await dataSource.initialize()
try {
  await dataSource.query('ALTER TABLE events ADD COLUMN IF NOT EXISTS amount_cents bigint')
  await dataSource.query(
    'CREATE TABLE IF NOT EXISTS backfill_checkpoints (job text PRIMARY KEY, after text NOT NULL, rows bigint NOT NULL)',
  )
  if (args.restart) await dataSource.query('DELETE FROM backfill_checkpoints WHERE job = $1', [job])
  const [checkpoint] = (await dataSource.query('SELECT after, rows FROM backfill_checkpoints WHERE job = $1', [
    job,
  ])) as { after: string; rows: string }[]
  console.log(checkpoint ? `resuming after ${checkpoint.rows} rows already backfilled` : 'starting from the first row')

  let token: string | undefined
  let rows = 0
  const batches = dataSource
    .getRepository(EventSchema)
    .createQueryBuilder('e')
    .aiterator({
      batchYieldSize,
      ...(checkpoint ? { after: checkpoint.after } : {}),
      // Runs before each batch is handed over: `token` always belongs to the batch being processed.
      onProgress: (progress) => {
        token = progress.cursor
      },
    })
  for await (const events of batches) {
    if (token === undefined) throw new Error('no resume token was reported: resuming needs the keyset strategy')
    const checkpointToken = token
    await dataSource.transaction(async (manager) => {
      await manager.query(
        'UPDATE events AS e SET amount_cents = v.cents FROM unnest($1::bigint[], $2::bigint[]) AS v(id, cents) WHERE e.id = v.id',
        [events.map((event) => event.id), events.map((event) => toCents(event.amount).toString())],
      )
      await manager.query(
        `INSERT INTO backfill_checkpoints (job, after, rows) VALUES ($1, $2, $3)
         ON CONFLICT (job) DO UPDATE SET after = EXCLUDED.after, rows = backfill_checkpoints.rows + EXCLUDED.rows`,
        [job, checkpointToken, events.length],
      )
    })
    rows += events.length
    console.log(`backfilled ${rows} rows in this run (last id ${events.at(-1)?.id})`)
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs))
  }
  console.log(
    rows === 0
      ? 'nothing left to backfill (use --restart to run it again from the start)'
      : `done: ${rows} rows backfilled in this run`,
  )
} finally {
  await dataSource.destroy()
  await db.close()
}
