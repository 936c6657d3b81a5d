import type { NodePostgresClient } from './pg-client.js'

/** The parts of node-postgres's socket (a `net.Socket` or `tls.TLSSocket`) this uses. */
interface PausableStream {
  on(event: 'data', listener: () => void): unknown
  removeListener(event: 'data', listener: () => void): unknown
  pause(): unknown
  resume(): unknown
  isPaused(): boolean
}

/**
 * While one of the adapter's own reads is in flight on `client`, node-postgres parses one socket
 * read (at most 64 KiB, a few hundred rows) per turn of the event loop instead of every read that
 * is waiting at once. Returns the function that ends it: call it exactly when the read settles.
 * Does nothing on a connection whose stream cannot be paused (a custom `stream` option).
 *
 * Why: with read-ahead, a chunk's rows are already in the socket when the thread gets to them;
 * libuv then reads up to 32 buffers in one go and node-postgres parses the whole chunk (several
 * milliseconds for 2,000 rows), holding up your loop's timers and I/O. Pausing the socket after
 * each read and resuming it on the next turn lets them run in between, while the server keeps
 * sending (no extra round trip, unlike reading the chunk in pieces). A loop that awaits 5 ms per
 * batch finished 39% sooner with read-ahead than without, instead of 33% (1,000,000 rows).
 *
 * @example
 * ```ts
 * const parsed = parseInTurns(client)
 * client.query(sql, parameters, (error, result) => {
 *   parsed()
 *   // …
 * })
 * ```
 */
export function parseInTurns(client: NodePostgresClient): () => void {
  const candidate = client.connection.stream as Partial<PausableStream> | undefined
  const pausable =
    typeof candidate?.on === 'function' &&
    typeof candidate.removeListener === 'function' &&
    typeof candidate.pause === 'function' &&
    typeof candidate.resume === 'function' &&
    typeof candidate.isPaused === 'function'
  if (!pausable) return () => {}
  const socket = candidate as PausableStream
  let reading = true
  const resume = (): void => {
    socket.resume()
  }
  // Added after node-postgres's own 'data' listener, so it runs once that read is parsed.
  const onData = (): void => {
    if (!reading || socket.isPaused()) return
    socket.pause()
    setImmediate(resume)
  }
  socket.on('data', onData)
  return () => {
    reading = false
    socket.removeListener('data', onData)
  }
}
