import { describe, expect, test } from 'vitest'
import { ReadAheadRows } from '../src/read-ahead-rows.js'

/** Rows 1..total read in order, as a keyset source would read them; records every load's size. */
function table(total: number) {
  const loads: number[] = []
  let next = 1
  const rows = new ReadAheadRows<number>(async (size) => {
    loads.push(size)
    const read: number[] = []
    while (read.length < size && next <= total) read.push(next++)
    return { rows: read, exhausted: read.length < size }
  })
  return { rows, loads }
}

describe('ReadAheadRows', () => {
  test('without read-ahead: loads what each take asks for, drained once a load comes back short', async () => {
    const { rows, loads } = table(5)
    expect(await rows.take(2)).toEqual([1, 2])
    expect(await rows.take(2)).toEqual([3, 4])
    expect(rows.drained).toBe(false)
    expect(await rows.take(2)).toEqual([5])
    expect(rows.drained).toBe(true)
    expect(await rows.take(2)).toEqual([])
    expect(loads).toEqual([2, 2, 2])
  })

  test('a load sent ahead serves the next take; a smaller take keeps the rest for the one after', async () => {
    const { rows, loads } = table(10)
    expect(await rows.take(3)).toEqual([1, 2, 3])
    expect(rows.sendAhead(4)).toBe(true)
    expect(rows.sendAhead(4)).toBe(false) // one ahead at a time
    expect(await rows.take(2)).toEqual([4, 5])
    expect(rows.sendAhead(4)).toBe(false) // rows pending: they come first
    expect(await rows.take(4)).toEqual([6, 7, 8, 9])
    expect(loads).toEqual([3, 4, 2])
    expect(await rows.take(4)).toEqual([10])
    expect(rows.drained).toBe(true)
    expect(rows.sendAhead(4)).toBe(false)
  })

  test('keeps loading while a load returns fewer rows than asked without being the end', async () => {
    let calls = 0
    const rows = new ReadAheadRows<number>(async (size) => {
      calls++
      return calls === 1
        ? { rows: [1], exhausted: false }
        : { rows: Array.from({ length: size }, (_, i) => i + 2), exhausted: false }
    })
    expect(await rows.take(3)).toEqual([1, 2, 3])
    expect(calls).toBe(2)
  })

  test('an aborted run sends nothing ahead; close() waits for a failed load ahead without throwing', async () => {
    const controller = new AbortController()
    controller.abort()
    const { rows } = table(10)
    expect(rows.sendAhead(4, controller.signal)).toBe(false)

    let fail!: (error: Error) => void
    const failing = new ReadAheadRows<number>(() => new Promise((_, reject) => (fail = reject)))
    expect(failing.sendAhead(4)).toBe(true)
    const closed = failing.close()
    fail(new Error('connection lost'))
    await expect(closed).resolves.toBeUndefined()
  })

  test('a failed load sent ahead fails the take that waits for it', async () => {
    const rows = new ReadAheadRows<number>(async () => {
      throw new Error('connection lost')
    })
    expect(rows.sendAhead(4)).toBe(true)
    await expect(rows.take(4)).rejects.toThrow('connection lost')
  })

  test('a take that fails after some rows were loaded keeps them: taken again (a retry), nothing is skipped', async () => {
    let next = 1
    let failNext = false
    const rows = new ReadAheadRows<number>(async (size) => {
      if (failNext) {
        failNext = false
        throw new Error('connection lost')
      }
      const read: number[] = []
      while (read.length < size && next <= 20) read.push(next++)
      return { rows: read, exhausted: read.length < size }
    })
    expect(await rows.take(3)).toEqual([1, 2, 3])
    expect(rows.sendAhead(3)).toBe(true) // 4, 5, 6 ahead
    await new Promise((resolve) => setTimeout(resolve, 0))
    failNext = true // the take of 5 gets the 3 rows ahead, then its load of 2 more fails
    await expect(rows.take(5)).rejects.toThrow('connection lost')
    expect(await rows.take(5)).toEqual([4, 5, 6, 7, 8])
  })
})
