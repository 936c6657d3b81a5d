import { type ChildProcess, spawn } from 'node:child_process'
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs'
import { connect as connectTcp, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'

/** A PgBouncer a test started in front of a PostgreSQL server; see {@link startPgBouncer}. */
export interface PgBouncer extends AsyncDisposable {
  /** The database URL with PgBouncer's address: the same database, user and parameters. */
  readonly url: string
  readonly poolMode: PgBouncerPoolMode
  /** Stops PgBouncer (its client and server connections close) and removes its files. */
  close(): Promise<void>
}

export type PgBouncerPoolMode = 'session' | 'transaction' | 'statement'

export interface PgBouncerOptions {
  /** Default `transaction`, the mode most deployments run. */
  readonly poolMode?: PgBouncerPoolMode
  /** Give up when it does not accept connections within this long (default 10 000 ms). */
  readonly startTimeoutMs?: number
}

/**
 * Starts PgBouncer (the `pgbouncer` binary: Debian's `pgbouncer` package, or `$PGBOUNCER`) on a free
 * loopback port in front of the server `databaseUrl` names, with trust authentication for the URL's user
 * and every database passed through under its own name. Its files live in a temporary directory; as
 * root it runs as `nobody` (PgBouncer refuses to run as root). Throws, naming what to install, when
 * the binary is missing; with its log when it does not start.
 *
 * @example
 * ```ts
 * await using bouncer = await startPgBouncer(db.url, { poolMode: 'transaction' })
 * const ds = new DataSource({ type: 'postgres', url: bouncer.url, … })
 * ```
 */
export async function startPgBouncer(databaseUrl: string, options: PgBouncerOptions = {}): Promise<PgBouncer> {
  const binary = pgBouncerBinary()
  const poolMode = options.poolMode ?? 'transaction'
  const target = new URL(databaseUrl)
  const user = decodeURIComponent(target.username || 'postgres')
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'batchyield-pgbouncer-'))
  chmodSync(dir, 0o755)
  const quote = (value: string) => `"${value.replaceAll('"', '""')}"`
  writeFileSync(join(dir, 'users.txt'), `${quote(user)} ""\n`, { mode: 0o644 })
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${target.hostname} port=${target.port || 5432}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(dir, 'users.txt')}`,
      `pool_mode = ${poolMode}`,
      'max_client_conn = 200',
      'default_pool_size = 10',
      // node-postgres and the ORMs may send these; PgBouncer refuses unknown startup parameters
      'ignore_startup_parameters = extra_float_digits,options',
      '',
    ].join('\n'),
    { mode: 0o644 },
  )
  const runAsRoot = process.getuid?.() === 0
  const child = spawn(binary, [...(runAsRoot ? ['-u', 'nobody'] : []), join(dir, 'pgbouncer.ini')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let log = ''
  const keep = (data: Buffer) => void (log = (log + data.toString()).slice(-4000))
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM') // immediate shutdown: its connections close
      await exited
    }
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    await untilListening(port, child, options.startTimeoutMs ?? 10_000)
  } catch (error) {
    await close()
    throw new Error(`PgBouncer (${binary}) did not start on 127.0.0.1:${port}: ${(error as Error).message}\n${log}`)
  }
  const url = new URL(databaseUrl)
  url.hostname = '127.0.0.1'
  url.port = String(port)
  return { url: url.toString(), poolMode, close, [Symbol.asyncDispose]: close }
}

function pgBouncerBinary(): string {
  const candidates = [
    process.env.PGBOUNCER,
    ...(process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'pgbouncer')),
    '/usr/sbin/pgbouncer',
    '/usr/bin/pgbouncer',
  ]
  for (const candidate of candidates) {
    if (candidate === undefined || candidate === '') continue
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // next
    }
  }
  throw new Error(
    'pgbouncer not found (PATH, /usr/sbin, $PGBOUNCER): install it, e.g. `apt-get install pgbouncer` (.ci/run does so where it can)',
  )
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

async function untilListening(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`it exited (${child.exitCode ?? child.signalCode})`)
    const open = await new Promise<boolean>((resolve) => {
      const socket = connectTcp(port, '127.0.0.1')
      socket.once('connect', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
    if (open) return
    if (Date.now() > deadline) throw new Error(`nothing listened within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
