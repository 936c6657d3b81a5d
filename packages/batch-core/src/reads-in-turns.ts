/** The parts of a Node readable stream (a `net.Socket`, a `tls.TLSSocket`) {@link readsInTurns} uses. */
export interface PausableStream {
  on(event: 'data', listener: () => void): unknown
  removeListener(event: 'data', listener: () => void): unknown
  pause(): unknown
  resume(): unknown
  isPaused(): boolean
}

/**
 * Calls `send(done)` (which starts a read, e.g. a query) and, until `done()` is called, has
 * `stream` hand its `'data'` listeners one read per turn of the event loop: after each read it is
 * paused and resumed on the next turn (`setImmediate`), so what arrived meanwhile waits in the
 * stream while timers and other I/O run. Call `done()` when the read settles; if `send` throws,
 * it is called for you and the error rethrown. Every listener still gets every read, in order,
 * whether it was added before or after. A stream that cannot be paused is left alone (`send`
 * still runs).
 *
 * Why: a database driver parses a response as the socket is read. With read-ahead, a whole chunk
 * is waiting in the socket when the thread gets to it; libuv then reads up to 32 buffers in one go
 * and the driver parses them all, holding up the caller's timers until it is done. Unlike asking
 * the server for the rows in pieces, the server keeps sending.
 *
 * @example
 * ```ts
 * import { readsInTurns } from '@batchyield/batch-core'
 *
 * readsInTurns(pgClient.connection.stream, (done) =>
 *   pgClient.query(sql, parameters, (error, result) => {
 *     done()
 *     // …
 *   }),
 * )
 * ```
 */
export function readsInTurns(stream: unknown, send: (done: () => void) => void): void {
  const done = spaceOutReads(stream)
  try {
    send(done)
  } catch (error) {
    done()
    throw error
  }
}

/** Starts spacing out `stream`'s reads; returns the function that stops it. */
function spaceOutReads(stream: unknown): () => void {
  const candidate = stream as Partial<PausableStream> | null | undefined
  const pausable =
    typeof candidate?.on === 'function' &&
    typeof candidate.removeListener === 'function' &&
    typeof candidate.pause === 'function' &&
    typeof candidate.resume === 'function' &&
    typeof candidate.isPaused === 'function'
  if (!pausable) return () => {}
  const readable = candidate as PausableStream
  let active = true
  const resume = (): void => {
    readable.resume()
  }
  const onData = (): void => {
    if (!active || readable.isPaused()) return
    // emit() hands this read to every listener even once paused; the next one waits for resume()
    readable.pause()
    setImmediate(resume)
  }
  readable.on('data', onData)
  return () => {
    active = false
    readable.removeListener('data', onData)
  }
}
