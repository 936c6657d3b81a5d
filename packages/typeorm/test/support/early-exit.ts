import type { SelectQueryBuilder } from 'typeorm'
import { expect, vi } from 'vitest'
import { aiterator, type Strategy } from '../../src/index.js'
import { UnhandledRejections } from './unhandled.js'

export type EarlyExit = 'break' | 'throw' | 'abort'

/**
 * Leaves a loop over `slow` (a query slow enough that the read-ahead chunk is still being fetched)
 * by `exit`, then checks what every way out must leave behind: `expectCleanPool()` holds, the
 * source's `close()` ran exactly once, and no promise rejection went unhandled.
 */
export async function leaveWhilePrefetching(
  slow: SelectQueryBuilder<object>,
  options: { exit: EarlyExit; strategy: Strategy; source: { prototype: object }; expectCleanPool: () => Promise<void> },
): Promise<void> {
  const { exit, strategy, source, expectCleanPool } = options
  const controller = new AbortController()
  const failure = new Error('consumer failed')
  const unhandled = new UnhandledRejections()
  const close = vi.spyOn(source.prototype as { close(): unknown }, 'close')
  try {
    const run = async () => {
      for await (const batch of aiterator(slow, {
        batchYieldSize: 5,
        chunkSize: 5,
        prefetch: 1,
        strategy,
        signal: controller.signal,
      })) {
        expect(batch).toHaveLength(5)
        await new Promise((resolve) => setTimeout(resolve, 10)) // let the prefetch start
        if (exit === 'break') break
        if (exit === 'throw') throw failure
        controller.abort(failure)
      }
    }
    if (exit === 'break') await run()
    else await expect(run()).rejects.toBe(failure)
    await expectCleanPool()
    await vi.waitFor(() => expect(close).toHaveBeenCalled())
    expect(await unhandled.stop()).toEqual([])
    expect(close).toHaveBeenCalledTimes(1)
  } finally {
    close.mockRestore()
    await unhandled.stop()
  }
}
