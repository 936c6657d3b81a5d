/** Rows one load returned, and whether they were the last (the load returned fewer than asked for). */
export interface RowLoad<T> {
  readonly rows: T[]
  readonly exhausted: boolean
}

/**
 * Hands out a source's rows chunk by chunk and can send the next chunk's load ahead, so the
 * database reads the next rows while the adapter hydrates the current ones.
 *
 * `load(size, signal)` reads the next `size` rows after the last row loaded (the source keeps
 * that position). A load sent ahead asks for a whole chunk; when the engine then asks for fewer
 * (the end of a limit), the rest waits for the next `take()`.
 *
 * @example
 * ```ts
 * const rows = new ReadAheadRows(async (size) => { const r = await query(size); return { rows: r, exhausted: r.length < size } })
 * const chunk = await rows.take(2000, signal)
 * if (rows.sendAhead(2000, signal)) await new Promise((resolve) => setImmediate(resolve)) // the next query goes out
 * hydrate(chunk)                                                                            // while this runs
 * ```
 */
export class ReadAheadRows<T> {
  private pending: T[] = []
  private ahead: Promise<RowLoad<T>> | undefined
  private exhausted = false

  constructor(private readonly load: (size: number, signal: AbortSignal | undefined) => Promise<RowLoad<T>>) {}

  /** The next `size` rows (fewer only at the end). */
  async take(size: number, signal?: AbortSignal): Promise<T[]> {
    let rows = this.pending
    this.pending = []
    try {
      if (this.ahead !== undefined) {
        const ahead = this.ahead
        this.ahead = undefined
        rows = joined(rows, this.settle(await ahead))
      }
      while (rows.length < size && !this.exhausted)
        rows = joined(rows, this.settle(await this.load(size - rows.length, signal)))
    } catch (error) {
      // what was loaded stays for the next take(): a retried take() must not skip it
      this.pending = rows
      throw error
    }
    if (rows.length > size) {
      this.pending = rows.slice(size)
      rows = rows.slice(0, size)
    }
    return rows
  }

  /** No rows are left: a load returned fewer than asked for, and everything loaded was taken. */
  get drained(): boolean {
    return this.exhausted && this.ahead === undefined && this.pending.length === 0
  }

  /**
   * Sends the next chunk's load (`size` rows) unless nothing more can come, rows are still
   * pending, a load is already ahead, or `signal` has aborted (the run is ending). True when sent.
   */
  sendAhead(size: number, signal?: AbortSignal): boolean {
    if (this.exhausted || this.ahead !== undefined || this.pending.length > 0 || signal?.aborted === true) return false
    const ahead = this.load(size, signal)
    ahead.catch(() => {}) // taken by the next take() or awaited by close()
    this.ahead = ahead
    return true
  }

  /** Waits for a load sent ahead that nobody took (its outcome no longer matters). */
  async close(): Promise<void> {
    const ahead = this.ahead
    this.ahead = undefined
    await ahead?.catch(() => {})
  }

  private settle(load: RowLoad<T>): T[] {
    if (load.exhausted) this.exhausted = true
    return load.rows
  }
}

/** `head` then `tail`, without copying when `head` is empty (the usual case). */
function joined<T>(head: T[], tail: T[]): T[] {
  return head.length === 0 ? tail : head.concat(tail)
}
