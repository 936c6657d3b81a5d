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
export function readProbe(blockMs = 3): { readonly onData: () => void; readonly readsBeforeTimer: readonly number[]; readonly reads: number } {
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
