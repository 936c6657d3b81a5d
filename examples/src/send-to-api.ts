/**
 * Send every purchase event to an HTTP API in batches, at most `--concurrency` requests in flight, with
 * MikroORM (`em.aiterator`), retrying a batch on 5xx/429 and network errors:
 *
 *   npm run send -w examples -- [--endpoint http://127.0.0.1:PORT/events] [--concurrency 4]
 *                                [--batch-size 100] [--url postgres://…] [--rows N]
 *
 * Without --endpoint it starts a small receiver on 127.0.0.1 (a free port) and sends there.
 */
import '@batchyield/mikro-orm'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { EventEntity } from '@batchyield/bench/mikro-orm-event'
import { MikroORM } from '@mikro-orm/postgresql'
import { numberArg, openExampleDatabase } from './example-database.ts'

/** POSTs one JSON body; retries (with exponential back-off) when the API says "later" or the network fails. */
async function postWithRetry(endpoint: string, body: string, attempts = 4): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    let retryable: string
    try {
      const response = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      await response.arrayBuffer()
      if (response.ok) return
      if (response.status !== 429 && response.status < 500)
        throw new Error(`${endpoint} answered ${response.status}; not retrying`)
      retryable = `status ${response.status}`
    } catch (error) {
      if (error instanceof Error && error.message.endsWith('not retrying')) throw error
      retryable = error instanceof Error ? error.message : String(error)
    }
    if (attempt === attempts) throw new Error(`${endpoint} failed ${attempts} times, last: ${retryable}`)
    await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt))
  }
}

/** A stand-in API on 127.0.0.1 that counts what it receives, for running the example on its own. */
async function startLocalReceiver(): Promise<{ url: string; received: () => number; close: () => Promise<void> }> {
  let received = 0
  const server = createServer((request, response) => {
    const parts: Buffer[] = []
    request.on('data', (part: Buffer) => parts.push(part))
    request.on('end', () => {
      received += (JSON.parse(Buffer.concat(parts).toString('utf8')) as unknown[]).length
      response.writeHead(204).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/events`,
    received: () => received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

const { db, args } = await openExampleDatabase({
  endpoint: { type: 'string' },
  concurrency: { type: 'string' },
  'batch-size': { type: 'string' },
})
const concurrency = numberArg(args, 'concurrency', 4)
const batchYieldSize = numberArg(args, 'batch-size', 100)
const receiver = typeof args.endpoint === 'string' ? undefined : await startLocalReceiver()
const endpoint = typeof args.endpoint === 'string' ? args.endpoint : receiver!.url
const orm = await MikroORM.init({ clientUrl: db.url, entities: [EventEntity] })

const inFlight = new Set<Promise<void>>()
let failure: unknown
let sent = 0
try {
  for await (const events of orm.em.fork().aiterator(EventEntity, { where: { kind: 'purchase' }, batchYieldSize })) {
    if (failure !== undefined) break
    // Serialize now: the entities belong to this chunk's fork and are not needed once the body exists.
    const body = JSON.stringify(events)
    const request: Promise<void> = postWithRetry(endpoint, body).then(
      () => {
        sent += events.length
      },
      (error: unknown) => {
        failure ??= error
      },
    )
    const tracked = request.finally(() => inFlight.delete(tracked))
    inFlight.add(tracked)
    // Bounded concurrency: the next batch is only read once a slot is free.
    if (inFlight.size >= concurrency) await Promise.race(inFlight)
  }
} finally {
  await Promise.all(inFlight)
  await orm.close()
  await receiver?.close()
  await db.close()
}
if (failure !== undefined) throw failure
console.log(
  `sent ${sent} events to ${endpoint}${receiver ? ` (the local receiver counted ${receiver.received()})` : ''}`,
)
