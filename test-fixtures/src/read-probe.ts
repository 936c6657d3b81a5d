/**
 * A timer probe for socket reads, to see whether a stream's reads are handed over one per turn of
 * the event loop. Attach `onData` as a `'data'` listener. At a read, unless a probe is already
 * waiting, it sets a `setTimeout(0)` and blocks the thread for `blockMs` (as hydrating a chunk
 * would), so the timer is due and the rest of the response is waiting in the socket by then.
 * `readsBeforeTimer` gets, for each probe, how many more reads were handed over before it fired:
 * all the waiting ones when a whole response is parsed in one go, at most one (the read resumed in
 * that turn's check phase) when reads come one per turn.
 *
 * @example
 * const probe = readProbe()
 * socket.on('data', probe.onData)
 * // … read a large response …
 * expect(Math.max(...probe.readsBeforeTimer)).toBeLessThanOrEqual(1)
 */
export function readProbe(blockMs = 3): {
  readonly onData: () => void
  readonly readsBeforeTimer: readonly number[]
  readonly reads: number
} {
  const readsBeforeTimer: number[] = []
  let reads = 0
  let armedAt: number | undefined
  const onData = (): void => {
    reads++
    if (armedAt !== undefined) return
    armedAt = reads
    setTimeout(() => {
      readsBeforeTimer.push(reads - armedAt!)
      armedAt = undefined
    }, 0)
    const until = performance.now() + blockMs
    while (performance.now() < until);
  }
  return {
    onData,
    readsBeforeTimer,
    get reads() {
      return reads
    },
  }
}

/** The parts of node-postgres's socket the pool probe uses and the tests check. */
export interface ProbedSocket {
  on(event: 'data', listener: () => void): unknown
  removeListener(event: 'data', listener: () => void): unknown
  listenerCount(event: 'data'): number
  isPaused(): boolean
}

/** A node-postgres `Pool` (it emits `'acquire'` with each client it hands out). */
export interface AcquireEvents {
  on(event: 'acquire', listener: (client: { connection: { stream: ProbedSocket } }) => void): unknown
}

/**
 * Puts one {@link readProbe} on the socket of every client `pool` hands out from now on; `stop()`
 * takes it off again. `sockets` are the sockets probed.
 */
export function probePoolReads(pool: AcquireEvents): {
  readonly probe: ReturnType<typeof readProbe>
  readonly sockets: ReadonlySet<ProbedSocket>
  stop(): void
} {
  const probe = readProbe()
  const sockets = new Set<ProbedSocket>()
  pool.on('acquire', (client) => {
    const socket = client.connection.stream
    if (sockets.has(socket)) return
    sockets.add(socket)
    socket.on('data', probe.onData)
  })
  return {
    probe,
    sockets,
    stop() {
      for (const socket of sockets) socket.removeListener('data', probe.onData)
    },
  }
}
