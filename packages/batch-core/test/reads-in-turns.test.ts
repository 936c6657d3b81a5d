import { once } from 'node:events'
import { createServer, type Server, type Socket, connect } from 'node:net'
import { readProbe } from '@batchyield/test-fixtures/read-probe'
import { afterEach, describe, expect, it } from 'vitest'
import { readsInTurns } from '../src/index.js'

// A real loopback socket: the server writes 1 MiB at once, the client reads it in reads of at most
// 64 KiB. A read probe shows whether a timer that falls due during one read waits for the rest.

const TOTAL = 1024 * 1024
let server: Server | undefined
afterEach(() => {
  server?.close()
  server = undefined
})

/** A connected client socket whose peer sends TOTAL bytes when `send()` is called. */
async function socketPair(): Promise<{ client: Socket; send: () => void }> {
  let peer: Socket | undefined
  server = createServer((socket) => (peer = socket))
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  const client = connect(port, '127.0.0.1')
  await once(client, 'connect')
  while (peer === undefined) await new Promise((resolve) => setImmediate(resolve))
  return { client, send: () => peer!.end(Buffer.alloc(TOTAL, 7)) }
}

/** Reads everything with a read probe (test-fixtures' `readProbe`) on the socket; counts the bytes. */
async function readAll(client: Socket, send: () => void) {
  const probe = readProbe()
  let bytes = 0
  client.on('data', probe.onData)
  client.on('data', (buffer: Buffer) => (bytes += buffer.length))
  send()
  await once(client, 'end')
  return { reads: probe.reads, bytes, readsBeforeTimer: probe.readsBeforeTimer }
}

describe('readsInTurns', () => {
  it('one read per turn: a timer due during a read fires after at most one more; every byte arrives', async () => {
    const { client, send } = await socketPair()
    let done = (): void => {}
    readsInTurns(client, (stop) => (done = stop))
    const { reads, bytes, readsBeforeTimer } = await readAll(client, send)
    done()
    expect(bytes).toBe(TOTAL)
    expect(reads).toBeGreaterThanOrEqual(16)
    // a read in the poll phase may be followed by the one resumed in that turn's check phase
    expect(Math.max(...readsBeforeTimer)).toBeLessThanOrEqual(1)
    client.destroy()
  })

  it('without it (the baseline the first test differs from): reads waiting in the socket are all handed over before the timer', async () => {
    const { client, send } = await socketPair()
    const { bytes, readsBeforeTimer } = await readAll(client, send)
    expect(bytes).toBe(TOTAL)
    expect(Math.max(...readsBeforeTimer)).toBeGreaterThan(1)
    client.destroy()
  })

  it('the returned function removes its listener and leaves the stream flowing', async () => {
    const { client, send } = await socketPair()
    const before = client.listenerCount('data')
    let done = (): void => {}
    readsInTurns(client, (stop) => (done = stop))
    expect(client.listenerCount('data')).toBe(before + 1)
    let bytes = 0
    client.on('data', (buffer: Buffer) => {
      bytes += buffer.length
      if (bytes > TOTAL / 2) done()
    })
    send()
    await once(client, 'end')
    expect(bytes).toBe(TOTAL)
    expect(client.listenerCount('data')).toBe(before + 1) // the test's own listener only
    expect(client.isPaused()).toBe(false)
    client.destroy()
  })

  it('a stream that cannot be paused, or none: a no-op', () => {
    expect(() => readsInTurns(undefined, (done) => done())).not.toThrow()
    expect(() => readsInTurns({ on() {} }, (done) => done())).not.toThrow()
  })
})
