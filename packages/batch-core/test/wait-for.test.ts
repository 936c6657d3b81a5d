import { describe, expect, test } from 'vitest'
import { TIMED_OUT, waitFor } from '../src/wait-for.js'
import { deferred } from './scripted-source.js'

/** A signal that counts its listeners, to prove none is left behind. */
function countingSignal() {
  const controller = new AbortController()
  const listeners = new Set<unknown>()
  const signal = {
    get aborted() {
      return controller.signal.aborted
    },
    get reason() {
      return controller.signal.reason as unknown
    },
    addEventListener: (type: string, listener: () => void, options?: { once?: boolean }) => {
      listeners.add(listener)
      controller.signal.addEventListener(type, listener, options)
    },
    removeEventListener: (type: string, listener: () => void) => {
      listeners.delete(listener)
      controller.signal.removeEventListener(type, listener)
    },
  } as unknown as AbortSignal
  return { signal, listeners, abort: (reason: unknown) => controller.abort(reason) }
}

describe('waitFor (internal)', () => {
  test('settles like the promise when nothing interferes, and removes its listener', async () => {
    const { signal, listeners } = countingSignal()
    await expect(waitFor(Promise.resolve(7), signal, 1000)).resolves.toBe(7)
    await expect(waitFor(Promise.reject(new Error('x')), signal, 1000)).rejects.toThrow('x')
    expect(listeners.size).toBe(0)
  })

  test('rejects with the abort reason as soon as the signal aborts; the late rejection is handled', async () => {
    const { signal, listeners, abort } = countingSignal()
    const slow = deferred<number>()
    const waiting = waitFor(slow.promise, signal)
    abort('stop')
    await expect(waiting).rejects.toBe('stop')
    expect(listeners.size).toBe(0)
    slow.reject(new Error('late')) // must not surface as an unhandled rejection (vitest fails the run if it does)
  })

  test('rejects at once for an already-aborted signal', async () => {
    await expect(waitFor(new Promise(() => {}), AbortSignal.abort('early'))).rejects.toBe('early')
  })

  test('resolves TIMED_OUT when the promise takes longer than timeoutMs', async () => {
    const slow = deferred<number>()
    await expect(waitFor(slow.promise, undefined, 5)).resolves.toBe(TIMED_OUT)
    slow.resolve(1)
  })
})
