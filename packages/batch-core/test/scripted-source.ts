import type { ChunkSource, OpenChunkSource } from '../src/index.js'

/** How a scripted source behaves; every field is optional. */
export interface Script {
  /** Number of rows the source holds (items are 0..rows-1). */
  readonly rows: number
  /** How many items to return for a request of `size` (clamped to 0..size); simulates short chunks. */
  readonly chunkLength?: (size: number, call: number) => number
  /** 'eager': done=true with the last items; 'lazy': done is never true, the end is an empty chunk. */
  readonly done?: 'eager' | 'lazy'
  /** The n-th call to next() (0-based) rejects with `fetchError`. */
  readonly failAtCall?: number
  readonly fetchError?: unknown
  /** close() throws this. */
  readonly closeError?: unknown
  /** Waits before each next() resolves (default: one macrotask, so fetches really overlap the caller). */
  readonly delay?: (call: number, signal: AbortSignal) => Promise<void>
  /** When true, next() rejects as soon as its signal aborts (a cooperative adapter). */
  readonly honourSignal?: boolean
  readonly cursorOf?: (item: number) => string
}

/** What the engine did to the source, for assertions. */
export interface SourceLog {
  opens: number
  closes: number
  /** The `size` of every next() call, in order. */
  requests: number[]
  /** Signals received by next(), in order. */
  signals: AbortSignal[]
  /** Items handed out in total. */
  delivered: number
  /** next() calls currently running. */
  active: number
  /** Broken contract: a next() overlapping another, or close() while/after next(), or a second close(). */
  violations: string[]
  /** Resolves when no next() is running (for tests that end while one is in flight). */
  idle(): Promise<void>
}

export const macrotask = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0))

/** An in-memory ChunkSource that records every call the engine makes and checks the contract. */
export function scriptedSource(script: Script): { open: OpenChunkSource<number>; log: SourceLog } {
  let idleWaiters: (() => void)[] = []
  const log: SourceLog = {
    opens: 0,
    closes: 0,
    requests: [],
    delivered: 0,
    signals: [],
    active: 0,
    violations: [],
    idle: () => (log.active === 0 ? Promise.resolve() : new Promise((resolve) => idleWaiters.push(resolve))),
  }
  const open = (): ChunkSource<number> => {
    log.opens++
    let offset = 0
    let calls = 0
    const source: ChunkSource<number> = {
      async next(size, signal) {
        const call = calls++
        if (log.active > 0) log.violations.push(`next() #${call} while another next() was running`)
        if (log.closes > 0) log.violations.push(`next() #${call} after close()`)
        log.requests.push(size)
        log.signals.push(signal)
        log.active++
        try {
          const wait = (script.delay ?? macrotask)(call, signal)
          await (script.honourSignal ? Promise.race([wait, rejectOnAbort(signal)]) : wait)
          if (call === script.failAtCall) throw script.fetchError
          const length = Math.max(0, Math.min(size, script.chunkLength?.(size, call) ?? size))
          const items = range(offset, Math.min(script.rows, offset + length))
          offset += items.length
          log.delivered += items.length
          return { items, done: script.done !== 'lazy' && offset >= script.rows }
        } finally {
          log.active--
          if (log.active === 0) {
            for (const resolve of idleWaiters) resolve()
            idleWaiters = []
          }
        }
      },
      close() {
        log.closes++
        if (log.closes > 1) log.violations.push('close() called more than once')
        if (log.active > 0) log.violations.push('close() while next() was running')
        if (script.closeError !== undefined) throw script.closeError
      },
    }
    if (script.cursorOf) source.cursorOf = script.cursorOf
    return source
  }
  return { open, log }
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i)
}

function rejectOnAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason)
    signal.addEventListener('abort', () => reject(signal.reason), { once: true })
  })
}

/** A promise with its resolve/reject exposed, to hold a fetch open until the test says so. */
export function deferred<T = void>(): {
  promise: Promise<T>
  resolve: (value: T) => void
  reject: (error: unknown) => void
} {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/** Collects everything an async iterable yields. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const value of iterable) out.push(value)
  return out
}
