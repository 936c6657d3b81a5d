import { describe, expect, test } from 'vitest'
import { boundStatement, ChunkTimeoutError } from '../src/index.js'

/** A statement that ends when cancelled (`cancels`), or only when its connection is destroyed. */
function statement(ms: number, cancels: boolean) {
  const log: string[] = []
  let fail: (error: Error) => void = () => {}
  const promise = new Promise<string>((resolve, reject) => {
    fail = reject
    setTimeout(() => resolve('rows'), ms)
  })
  return {
    promise,
    log,
    cancel: () => {
      log.push('cancel')
      if (cancels) fail(new Error('canceling statement due to user request'))
    },
    destroy: () => {
      log.push('destroy')
      fail(new Error('Connection terminated'))
    },
  }
}

describe('boundStatement', () => {
  test('without timeoutMs it is the statement itself', async () => {
    const s = statement(5, true)
    expect(
      await boundStatement(s.promise, {
        timeoutMs: undefined,
        cancel: s.cancel,
        destroy: s.destroy,
        what: 'the SELECT',
      }),
    ).toBe('rows')
    expect(s.log).toEqual([])
  })

  test('a statement that ends in time is untouched', async () => {
    const s = statement(5, true)
    expect(
      await boundStatement(s.promise, { timeoutMs: 200, cancel: s.cancel, destroy: s.destroy, what: 'the SELECT' }),
    ).toBe('rows')
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(s.log).toEqual([])
  })

  test('on expiry it is cancelled, and fails with ChunkTimeoutError naming it, its own error as the cause', async () => {
    const s = statement(10_000, true)
    const error = await boundStatement(s.promise, {
      timeoutMs: 30,
      cancel: s.cancel,
      destroy: s.destroy,
      what: "the keyset chunk's SELECT",
    }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ChunkTimeoutError)
    expect((error as Error).message).toMatch(
      /^the keyset chunk's SELECT did not finish within chunkTimeoutMs \(30 ms\) and was cancelled/,
    )
    expect(((error as Error).cause as Error).message).toBe('canceling statement due to user request')
    expect(s.log).toEqual(['cancel'])
  })

  test('a black hole (the cancel does not end it): the connection is destroyed after as long again', async () => {
    const s = statement(10_000, false)
    const error = await boundStatement(s.promise, {
      timeoutMs: 30,
      cancel: s.cancel,
      destroy: s.destroy,
      what: 'the SELECT',
    }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ChunkTimeoutError)
    expect(s.log).toEqual(['cancel', 'destroy'])
  })
})
