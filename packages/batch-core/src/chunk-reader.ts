import type { Chunk, ChunkSource, OpenChunkSource } from './chunk-source.js'
import { ChunkSizer } from './chunk-sizer.js'
import type { ResolvedBatchOptions } from './options.js'
import { describeValue } from './validate.js'
import { waitFor } from './wait-for.js'

/**
 * Pulls chunks from a source, one `next()` at a time, keeping up to `prefetch` chunks fetched
 * ahead of the consumer. Internal to the engine.
 *
 * Invariants: at most one call into the source is in flight (`open`, `next` or `close`); the
 * in-flight promise never rejects (a failure is stored and rethrown to the consumer), so a fetch
 * nobody waits for can never become an unhandled rejection; `close()` of the source runs at most
 * once, and only after the in-flight fetch has settled.
 */
export class ChunkReader<T> {
  /** Chunks received from the source so far. */
  chunks = 0
  private source: ChunkSource<T> | undefined
  private readonly queue: (readonly T[])[] = []
  private inflight: Promise<void> | undefined
  private wanted = false
  private ended = false
  private stopped = false
  private failure: { readonly error: unknown } | undefined
  private received = 0
  private closing: Promise<void> | undefined
  /** Handed to the source: aborts when the caller aborts or leaves early. */
  private readonly controller = new AbortController()
  private readonly sizer: ChunkSizer
  /**
   * On abort, cancel the fetch and release the source right away, even while the caller is
   * still busy with a batch (or never calls next() again). The engine reports the abort reason
   * and ignores a close() error in that case, so this one needs no other handler.
   */
  private readonly onCallerAbort = (): void => {
    this.controller.abort(this.options.signal?.reason)
    this.close(true).catch(() => {})
  }

  constructor(
    private readonly open: OpenChunkSource<T>,
    private readonly options: ResolvedBatchOptions,
  ) {
    options.signal?.addEventListener('abort', this.onCallerAbort, { once: true })
    this.sizer = new ChunkSizer(options.chunkSize, options.batchYieldSize, options.maxChunkBytes)
  }

  /** True while a call into the source is running. */
  get busy(): boolean {
    return this.inflight !== undefined
  }

  /** The next chunk (never empty), or undefined at the end. Rejects with the abort reason at once on abort. */
  async next(): Promise<readonly T[] | undefined> {
    const { signal } = this.options
    for (;;) {
      if (signal?.aborted) throw signal.reason
      const items = this.queue.shift()
      if (items !== undefined) {
        this.fill()
        return items
      }
      if (this.failure) throw this.failure.error
      if (this.ended || this.stopped) return undefined
      this.wanted = true
      this.fill()
      if (this.inflight) await waitFor(this.inflight, signal)
    }
  }

  cursorOf(item: T): string | undefined {
    return this.source?.cursorOf?.(item)
  }

  /** Stops fetching; when `early`, signals the source to cancel; closes the source once. */
  close(early: boolean): Promise<void> {
    this.stopped = true
    this.options.signal?.removeEventListener('abort', this.onCallerAbort)
    if (early && !this.controller.signal.aborted) this.controller.abort()
    return (this.closing ??= this.closeSource())
  }

  private async closeSource(): Promise<void> {
    // An abort can fire synchronously inside open() or source.next(), before fill() has stored
    // the in-flight promise: let it do so, then wait for that call to settle.
    await undefined
    while (this.inflight) await this.inflight
    this.queue.length = 0
    if (this.source) await this.source.close()
  }

  /** Starts one fetch when the consumer waits for a chunk or the read-ahead is not full. */
  private fill(): void {
    if (this.inflight || this.ended || this.stopped || this.failure) return
    if (!this.wanted && this.queue.length >= this.options.prefetch) return
    this.wanted = false
    const { limit } = this.options
    const next = this.sizer.next()
    const size = limit === undefined ? next : Math.min(next, limit - this.received)
    this.inflight = this.fetch(size).then(() => {
      this.inflight = undefined
      this.fill()
    })
  }

  /** One chunk, retried with back-off while the source calls its failure retryable; an abort ends the wait at once. */
  private async read(source: ChunkSource<T>, size: number): Promise<Chunk<T>> {
    const { signal } = this.controller
    for (let attempt = 0; ; attempt++) {
      try {
        return await source.next(size, signal)
      } catch (error) {
        if (attempt >= this.options.retries || signal.aborted || this.stopped || source.retryable?.(error) !== true)
          throw error
        await sleep(retryDelayMs(attempt), signal)
      }
    }
  }

  private async fetch(size: number): Promise<void> {
    try {
      this.source ??= checkSource(await this.open())
      if (this.stopped) return // the caller left while the source was opening
      const chunk = await this.read(this.source, size)
      if (typeof chunk !== 'object' || chunk === null || !Array.isArray(chunk.items)) {
        throw new TypeError(
          `ChunkSource.next() must resolve to { items: T[], done: boolean }; received ${describeValue(chunk)}`,
        )
      }
      this.chunks++
      this.sizer.observe(chunk.items)
      const { limit } = this.options
      // A source may return more than asked; the total limit is still honoured exactly.
      const items =
        limit !== undefined && chunk.items.length > limit - this.received
          ? chunk.items.slice(0, limit - this.received)
          : chunk.items
      this.received += items.length
      if (items.length > 0) this.queue.push(items)
      // An empty chunk also means the end, so a source that never says `done` cannot loop forever.
      if (chunk.done || items.length === 0 || this.received === limit) this.ended = true
    } catch (error) {
      this.failure = { error }
    }
  }
}

/** The delay before retry `attempt` (0-based): 100 ms doubling, at most 5 s. */
export function retryDelayMs(attempt: number): number {
  return Math.min(5000, 100 * 2 ** attempt)
}

function checkSource<T>(source: ChunkSource<T>): ChunkSource<T> {
  if (
    typeof source !== 'object' ||
    source === null ||
    typeof source.next !== 'function' ||
    typeof source.close !== 'function'
  ) {
    throw new TypeError(
      `open() must return a ChunkSource { next(size, signal), close() }; received ${describeValue(source)}`,
    )
  }
  return source
}

/** Resolves after `ms`, or rejects with the abort reason as soon as `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal.reason)
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
