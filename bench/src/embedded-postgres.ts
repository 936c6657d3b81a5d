import { PGlite } from '@electric-sql/pglite'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'

/** A running in-process PostgreSQL (PGlite, in memory) reachable over TCP on a loopback port. */
export interface EmbeddedPostgres extends AsyncDisposable {
  /** Connection string for `pg`, TypeORM and MikroORM, e.g. `postgres://postgres@127.0.0.1:41234/postgres`. */
  readonly url: string
  stop(): Promise<void>
}

/**
 * Starts PGlite (PostgreSQL compiled to WebAssembly, inside this process; in memory, or persisted in
 * `dataDir`) behind its socket server on a free port of 127.0.0.1, so ordinary drivers connect to it as to
 * any PostgreSQL server. Only one process may open a `dataDir` at a time (see `openDemoDatabase`).
 * PGlite runs one statement at a time: the socket server queues connections' statements, and while one
 * connection is inside a transaction the others wait for it to end.
 *
 * @example
 * await using pgServer = await startEmbeddedPostgres()
 * const client = new pg.Client({ connectionString: pgServer.url })
 */
export async function startEmbeddedPostgres(
  options: { dataDir?: string; maxConnections?: number } = {},
): Promise<EmbeddedPostgres> {
  const db = options.dataDir === undefined ? await PGlite.create() : await PGlite.create(options.dataDir)
  // port 0: the OS picks a free port; the server reports it after start().
  const server = new PGLiteSocketServer({
    db,
    host: '127.0.0.1',
    port: 0,
    maxConnections: options.maxConnections ?? 16,
  })
  await server.start()
  const url = `postgres://postgres@${server.getServerConn()}/postgres`
  let stopped: Promise<void> | undefined
  const stop = () =>
    (stopped ??= (async () => {
      await server.stop()
      await db.close()
    })())
  return { url, stop, [Symbol.asyncDispose]: stop }
}
