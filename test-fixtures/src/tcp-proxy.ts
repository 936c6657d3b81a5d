import { createServer, type Server, type Socket, connect } from 'node:net'
import type { QueryGate } from '#src/query-gate'

/**
 * A TCP proxy on loopback in front of the database, which a test can make misbehave the way a
 * network or a restarting server does. PostgreSQL URLs only (`url` swaps the host and port).
 *
 * @example
 * ```ts
 * await using proxy = await openTcpProxy(db.url)
 * const ds = new DataSource({ type: 'postgres', url: proxy.url, … })
 * proxy.blackhole() // from now on nothing gets through, and nobody is told
 * ```
 */
export interface TcpProxy extends AsyncDisposable {
  /** `databaseUrl` with the proxy's address. */
  readonly url: string
  /**
   * A network cut that sends nothing back: no byte is forwarded either way, on open connections
   * and new ones, and neither side learns that the other closed.
   */
  blackhole(): void
  /** Forwards again; a connection one side closed during the cut is closed on the other side too. */
  heal(): void
  /** Resets every open connection (TCP RST): its client reads `ECONNRESET`. */
  reset(): void
  /**
   * The server goes away, as in a restart or a failover: every open connection is reset and the
   * port stops listening, so a new connection is refused (`ECONNREFUSED`) until {@link TcpProxy.up}.
   */
  down(): void
  /** Listens again on the same port, forwarding to the same server (the restarted one, or the new primary). */
  up(): Promise<void>
  /** {@link TcpProxy.down}, then {@link TcpProxy.up} after `downMs` (default 1500): resolves once the server is back. */
  restart(downMs?: number): Promise<void>
  /** Connections accepted and forwarded so far. */
  readonly connections: number
  close(): Promise<void>
}

/** Opens a {@link TcpProxy} to the server `databaseUrl` names, on a free loopback port. */
export async function openTcpProxy(databaseUrl: string): Promise<TcpProxy> {
  const target = new URL(databaseUrl)
  const pairs = new Set<{ client: Socket; server: Socket }>()
  /** Connections accepted during a cut: nothing was forwarded, and they go when it heals. */
  const stranded = new Set<Socket>()
  let cut = false
  let connections = 0
  const server: Server = createServer((client) => {
    client.on('error', () => {})
    if (cut) {
      stranded.add(client)
      return
    }
    connections++
    const upstream = connect(Number(target.port || 5432), target.hostname)
    upstream.on('error', () => {})
    const pair = { client, server: upstream }
    pairs.add(pair)
    client.on('data', (data) => void (cut || upstream.write(data)))
    upstream.on('data', (data) => void (cut || client.write(data)))
    const closed = () => {
      if (cut) return // nobody is told during a cut: heal() closes what is left
      pairs.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    client.on('close', closed)
    upstream.on('close', closed)
  })
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject)
        resolve()
      })
    })
  await listen(0)
  const { port } = server.address() as { port: number }
  const url = new URL(databaseUrl)
  url.hostname = '127.0.0.1'
  url.port = String(port)

  const reset = (): void => {
    for (const pair of pairs) {
      pairs.delete(pair)
      pair.client.resetAndDestroy()
      pair.server.destroy()
    }
  }
  const down = (): void => {
    // stops listening at once; close()'s callback would wait for the connections reset() ends
    if (server.listening) server.close()
    reset()
  }
  const up = async (): Promise<void> => {
    if (!server.listening) await listen(port)
  }
  const close = async (): Promise<void> => {
    for (const { client, server: upstream } of pairs) {
      client.destroy()
      upstream.destroy()
    }
    for (const client of stranded) client.destroy()
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  return {
    url: url.toString(),
    get connections() {
      return connections
    },
    blackhole() {
      cut = true
    },
    heal() {
      cut = false
      for (const client of stranded) client.destroy()
      stranded.clear()
      for (const pair of pairs) {
        if (!pair.client.destroyed && !pair.server.destroyed) continue
        pairs.delete(pair)
        pair.client.destroy()
        pair.server.destroy()
      }
    },
    reset,
    down,
    up,
    async restart(downMs = 1500) {
      down()
      await new Promise((resolve) => setTimeout(resolve, downMs))
      await up()
    },
    close,
    [Symbol.asyncDispose]: close,
  }
}

/**
 * A restart in the middle of a statement: once a statement waits at the (shut) `gate`, the server behind
 * `proxy` restarts; the gate opens right after the connections are reset. Resolves once the server is back;
 * rejects when no statement came to the gate within `timeoutMs`. The gate is open afterwards in any case.
 */
export async function restartUnderGate(
  proxy: TcpProxy,
  gate: QueryGate,
  { downMs = 1500, timeoutMs = 10_000 } = {},
): Promise<void> {
  try {
    const waiting = await gate.waiting(timeoutMs)
    if (waiting.length === 0) throw new Error(`no statement came to the shut gate within ${timeoutMs} ms`)
    const restarted = proxy.restart(downMs)
    await gate.open()
    await restarted
  } finally {
    await gate.open()
  }
}
