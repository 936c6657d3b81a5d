import { createServer, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { assertDatabasesReachable, DatabaseUnreachableError } from '@batchyield/test-fixtures'
import setup from '@batchyield/test-fixtures/global-setup'

/** A port on 127.0.0.1 that nothing listens on: bind to port 0, note the port, close. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** A server that accepts connections and never says a word, like a hung database. */
async function silentServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    port,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

describe('assertDatabasesReachable', () => {
  afterEach(() => {
    vi.unstubAllEnvs()
  })

  it('passes when both configured servers answer', async () => {
    await expect(assertDatabasesReachable()).resolves.toBeUndefined()
  })

  it('names the URL, the environment variable and `docker compose up -d` when PostgreSQL is down', async () => {
    const url = `postgres://postgres@127.0.0.1:${await closedPort()}/test`
    const error = await assertDatabasesReachable({ dialects: ['postgres'], urls: { postgres: url } }).catch(
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(DatabaseUnreachableError)
    const message = (error as Error).message
    expect(message).toContain(`Cannot reach PostgreSQL at ${url}`)
    expect(message).toContain('DATABASE_URL')
    expect(message).toContain('docker compose up -d')
    expect(message).toMatch(/ECONNREFUSED/)
  })

  it('names MARIADB_URL and masks the password when MariaDB is down', async () => {
    const port = await closedPort()
    const error = await assertDatabasesReachable({
      dialects: ['mariadb'],
      urls: { mariadb: `mysql://root:hunter2@127.0.0.1:${port}/test` },
    }).catch((e: unknown) => e)
    const message = (error as Error).message
    expect(message).toContain(`Cannot reach MariaDB at mysql://root:***@127.0.0.1:${port}/test`)
    expect(message).toContain('MARIADB_URL')
    expect(message).toContain('docker compose up -d')
    expect(message).not.toContain('hunter2')
  })

  it('gives up on a server that accepts the connection but never answers, after the timeout', async () => {
    const hung = await silentServer()
    try {
      const url = `postgres://postgres@127.0.0.1:${hung.port}/test`
      const error = await assertDatabasesReachable({
        dialects: ['postgres'],
        urls: { postgres: url },
        timeoutMs: 300,
      }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(DatabaseUnreachableError)
      expect((error as Error).message).toContain(`Cannot reach PostgreSQL at ${url}`)
    } finally {
      await hung.close()
    }
  })

  it('reports every unreachable server at once', async () => {
    const port = await closedPort()
    const error = await assertDatabasesReachable({
      urls: { postgres: `postgres://postgres@127.0.0.1:${port}/test`, mariadb: `mysql://root@127.0.0.1:${port}/test` },
    }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AggregateError)
    expect((error as Error).message).toContain('DATABASE_URL')
    expect((error as Error).message).toContain('MARIADB_URL')
  })
})

describe('global setup', () => {
  afterEach(() => {
    vi.unstubAllEnvs()
  })

  it('fails the run when DATABASE_URL points at a closed port, instead of skipping', async () => {
    const url = `postgres://postgres@127.0.0.1:${await closedPort()}/test`
    vi.stubEnv('DATABASE_URL', url)
    await expect(setup()).rejects.toThrow(`Cannot reach PostgreSQL at ${url} (from DATABASE_URL)`)
  })

  it('resolves when both servers are reachable', async () => {
    await expect(setup()).resolves.toBeUndefined()
  })
})
