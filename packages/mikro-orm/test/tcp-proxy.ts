import { createServer, type Server, type Socket, connect } from 'node:net'

/**
 * A TCP proxy on loopback in front of the database, which a test can make misbehave the way a
 * network does. PostgreSQL URLs only (`url()` swaps the host and port).
 *
 * @example
 * ```ts
 * await using proxy = await openTcpProxy(db.url)
 * const t = openOrm('postgres', proxy.url, { pool: { min: 0, max: 1 } })
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
  close(): Promise<void>
}

/** Opens a {@link TcpProxy} to the server `databaseUrl` names, on a free loopback port. */
export async function openTcpProxy(databaseUrl: string): Promise<TcpProxy> {
  const target = new URL(databaseUrl)
  const pairs = new Set<{ client: Socket; server: Socket }>()
  /** Connections accepted during a cut: nothing was forwarded, and they go when it heals. */
  const stranded = new Set<Socket>()
  let cut = false
  const server: Server = createServer((client) => {
    client.on('error', () => {})
    if (cut) {
      stranded.add(client)
      return
    }
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
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  const url = new URL(databaseUrl)
  url.hostname = '127.0.0.1'
  url.port = String(port)

  const close = async (): Promise<void> => {
    for (const { client, server: upstream } of pairs) {
      client.destroy()
      upstream.destroy()
    }
    for (const client of stranded) client.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  return {
    url: url.toString(),
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
    reset() {
      for (const pair of pairs) {
        pairs.delete(pair)
        pair.client.resetAndDestroy()
        pair.server.destroy()
      }
    },
    close,
    [Symbol.asyncDispose]: close,
  }
}
