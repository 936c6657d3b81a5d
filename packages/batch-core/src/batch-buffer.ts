/**
 * Holds the chunks received but not yet yielded, and cuts batches out of them with `slice`
 * (no item-by-item copying). A chunk is dropped as soon as its last item is taken, so memory
 * is bounded by the chunks in hand plus one batch. Internal to the engine.
 */
export class BatchBuffer<T> {
  /** Items held and not yet taken. */
  size = 0
  private readonly chunks: (readonly T[])[] = []
  /** Index of the first untaken item in `chunks[0]`. */
  private offset = 0

  push(chunk: readonly T[]): void {
    this.chunks.push(chunk)
    this.size += chunk.length
  }

  /** Removes and returns the next `count` items (fewer when fewer are held), in order. */
  take(count: number): T[] {
    let needed = Math.min(count, this.size)
    this.size -= needed
    const pieces: T[][] = []
    while (needed > 0) {
      const chunk = this.chunks[0]!
      const end = Math.min(chunk.length, this.offset + needed)
      pieces.push(chunk.slice(this.offset, end))
      needed -= end - this.offset
      if (end === chunk.length) {
        this.chunks.shift()
        this.offset = 0
      } else {
        this.offset = end
      }
    }
    return pieces.length === 1 ? pieces[0]! : (pieces.flat() as T[])
  }
}
