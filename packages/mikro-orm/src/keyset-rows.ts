/** Rows loaded by one query of the keyset strategy, and whether they were the last (fewer than asked for). */
export interface RowLoad {
  readonly rows: object[]
  readonly exhausted: boolean
}

/**
 * Hands out a keyset run's rows (em.find's mapped results of a plain read) chunk by chunk, and can
 * send the next chunk's query ahead: before the current chunk's entities are created, so the
 * database reads the next rows while this thread creates entities.
 *
 * `load(size)` reads the next `size` rows after the last row loaded (it keeps that position). A
 * load sent ahead asks for `chunkSize` rows; when the engine then asks for fewer (the end of a
 * limit), the rest waits for the next chunk.
 *
 * @example
 * ```ts
 * const reader = new KeysetRowReader(loadRows)
 * const rows = await reader.take(2000, signal)
 * if (!reader.drained) await reader.sendAhead(2000, signal) // the next query goes out
 * const entities = await createInSlices(fork, plain, rows)    // while this runs
 * ```
 */
export class KeysetRowReader {
  private pending: object[] = []
  private ahead: Promise<RowLoad> | undefined
  private exhausted = false

  constructor(private readonly load: (size: number, signal: AbortSignal) => Promise<RowLoad>) {}

  /** The next `size` rows (fewer at the end). */
  async take(size: number, signal: AbortSignal): Promise<object[]> {
    let rows = this.pending
    this.pending = []
    if (this.ahead !== undefined) {
      const ahead = this.ahead
      this.ahead = undefined
      rows = joined(rows, this.settle(await ahead))
    }
    if (rows.length < size && !this.exhausted) rows = joined(rows, this.settle(await this.load(size - rows.length, signal)))
    if (rows.length > size) {
      this.pending = rows.slice(size)
      rows = rows.slice(0, size)
    }
    return rows
  }

  /** No rows are left: the last load returned fewer than asked for, and everything loaded was taken. */
  get drained(): boolean {
    return this.exhausted && this.ahead === undefined && this.pending.length === 0
  }

  /**
   * Sends the next chunk's load (`size` rows) unless there is nothing more, rows are still pending,
   * or the run is ending; resolves once the query has had a turn of the event loop to go out.
   */
  async sendAhead(size: number, signal: AbortSignal): Promise<void> {
    if (this.exhausted || this.ahead !== undefined || this.pending.length > 0 || signal.aborted) return
    const ahead = this.load(size, signal)
    ahead.catch(() => {}) // taken by the next take() or awaited by close()
    this.ahead = ahead
    await new Promise((resolve) => setImmediate(resolve))
  }

  /** Waits for a load sent ahead to settle (its outcome no longer matters). */
  async close(): Promise<void> {
    await this.ahead?.catch(() => {})
  }

  private settle(load: RowLoad): object[] {
    if (load.exhausted) this.exhausted = true
    return load.rows
  }
}

function joined(head: object[], tail: object[]): object[] {
  if (head.length === 0) return tail
  head.push(...tail)
  return head
}
