import { describe, expect, it } from 'vitest'
import { ChunkTimeoutError, CursorSession } from '../src/index.js'
import { flush, ScriptedCursor, serverError, socketError } from './scripted-cursor.js'

const own = { ownsTransaction: true } as const
const callers = { ownsTransaction: false } as const

describe('CursorSession: the statements of a run', () => {
  it('its own transaction: BEGIN, DECLARE, one FETCH per call, COMMIT, and the connection goes back', async () => {
    const db = new ScriptedCursor()
    db.rowsLeft = 5
    const session = await CursorSession.open(db, own)
    expect(await session.fetch(3)).toEqual([0, 1, 2])
    expect(await session.fetch(3)).toEqual([0, 1])
    await session.close()
    await session.close()
    expect(db.log).toEqual(['begin', 'declare', 'fetch', 'fetch', 'commit', 'release'])
  })

  it("the caller's transaction: no BEGIN, CLOSE instead of COMMIT, and the transaction is left to the caller", async () => {
    const db = new ScriptedCursor()
    const session = await CursorSession.open(db, callers)
    await session.fetch(2)
    await session.close()
    expect(db.log).toEqual(['declare', 'fetch', 'closeCursor', 'release'])
    expect(db.releases).toEqual([undefined])
  })

  it('one statement at a time: a FETCH while another runs is refused without being sent', async () => {
    const db = new ScriptedCursor()
    const session = await CursorSession.open(db, own)
    db.auto = false
    const first = session.fetch(2)
    await expect(session.fetch(2)).rejects.toThrow(/one statement at a time/)
    db.pending()!.resolve([1, 2])
    expect(await first).toEqual([1, 2])
    expect(db.statements.filter((s) => s === 'fetch')).toHaveLength(1)
  })
})

describe('CursorSession: failures, and whether the connection may be pooled again', () => {
  it('a server error (a SQLSTATE): the FETCH rejects with it, the end is ROLLBACK, the connection goes back', async () => {
    const db = new ScriptedCursor()
    const session = await CursorSession.open(db, own)
    db.auto = false
    const fetched = session.fetch(10)
    const failure = serverError('22012', 'division by zero')
    db.pending()!.reject(failure)
    await expect(fetched).rejects.toBe(failure)
    await expect(session.fetch(10)).rejects.toBe(failure) // nothing more is sent
    db.auto = true
    await session.close()
    expect(db.log).toEqual(['begin', 'declare', 'fetch', 'rollback', 'release'])
  })

  it.each([
    ['a socket error', socketError('ECONNRESET')],
    ['the server ended the session', serverError('57P01', 'terminating connection due to administrator command')],
    ['node-postgres knows the connection is gone', new Error('Connection terminated unexpectedly')],
  ])(
    'the connection is lost (%s): nothing more is sent, the connection is destroyed, close() does not report it again',
    async (_, loss) => {
      const db = new ScriptedCursor()
      const session = await CursorSession.open(db, own)
      db.auto = false
      const fetched = session.fetch(10)
      db.pending()!.reject(loss)
      await expect(fetched).rejects.toBe(loss)
      expect(session.broken).toEqual({ kind: 'lost', error: loss })
      await session.close()
      expect(db.log).toEqual(['begin', 'declare', 'fetch', 'destroy'])
      expect(db.releases).toEqual([{ reason: loss }])
    },
  )

  it("a driver-side timeout (pg's query_timeout: no SQLSTATE, the FETCH may still run): the COMMIT is not sent, the statement is cancelled and the connection destroyed", async () => {
    const db = new ScriptedCursor()
    const session = await CursorSession.open(db, own)
    db.auto = false
    const fetched = session.fetch(10)
    const timeout = new Error('Query read timeout')
    db.onCancel = undefined
    db.pending()!.reject(timeout)
    await expect(fetched).rejects.toBe(timeout)
    await session.close()
    expect(db.log.filter((entry) => entry !== 'cancel done')).toEqual([
      'begin',
      'declare',
      'fetch',
      'cancel',
      'destroy',
    ])
    expect(db.releases).toEqual([{ reason: timeout }])
  })

  it("the COMMIT itself fails without the server's word: it is cancelled, the connection destroyed, and close() reports the failure", async () => {
    const db = new ScriptedCursor()
    const session = await CursorSession.open(db, own)
    await session.fetch(1)
    db.auto = false
    const closing = session.close()
    await flush()
    const timeout = new Error('Query read timeout')
    db.pending()!.reject(timeout)
    await expect(closing).rejects.toBe(timeout)
    expect(db.log.filter((entry) => entry !== 'cancel done').slice(-3)).toEqual(['commit', 'cancel', 'destroy'])
  })

  it('the COMMIT meets a lost connection: destroyed, and close() is quiet (nothing more to tell)', async () => {
    const db = new ScriptedCursor()
    const session = await CursorSession.open(db, own)
    db.auto = false
    const closing = session.close()
    await flush()
    db.pending()!.reject(socketError('EPIPE'))
    await closing
    expect(db.log.slice(-2)).toEqual(['commit', 'destroy'])
  })

  it('the adapter reports the connection lost between FETCHes: the next FETCH is refused unsent, the connection destroyed', async () => {
    const db = new ScriptedCursor()
    const session = await CursorSession.open(db, own)
    await session.fetch(1)
    const loss = socketError('ECONNRESET')
    session.connectionLost(loss)
    await expect(session.fetch(1)).rejects.toBe(loss)
    await session.close()
    expect(db.log).toEqual(['begin', 'declare', 'fetch', 'destroy'])
  })

  it('opening: a DECLARE the server rejects rolls back and hands the connection back; a BEGIN on a lost connection destroys it', async () => {
    const db = new ScriptedCursor()
    db.auto = false
    const opening = CursorSession.open(db, own)
    db.pending()!.resolve()
    await flush()
    const unknownColumn = serverError('42703', 'column "nope" does not exist')
    db.pending()!.reject(unknownColumn)
    await flush()
    db.pending()!.resolve()
    await expect(opening).rejects.toBe(unknownColumn)
    expect(db.log).toEqual(['begin', 'declare', 'rollback', 'release'])

    const lost = new ScriptedCursor()
    lost.auto = false
    const failing = CursorSession.open(lost, own)
    lost.pending()!.reject(new Error('Connection terminated unexpectedly'))
    await expect(failing).rejects.toThrow('Connection terminated')
    expect(lost.log).toEqual(['begin', 'destroy'])
  })
})

describe('CursorSession: abort sends nothing new, and cancels what runs', () => {
  it('an aborted signal: the FETCH is refused without being sent', async () => {
    const db = new ScriptedCursor()
    const session = await CursorSession.open(db, own)
    const controller = new AbortController()
    controller.abort(new Error('stop'))
    await expect(session.fetch(5, controller.signal)).rejects.toThrow('stop')
    await session.close()
    expect(db.log).toEqual(['begin', 'declare', 'commit', 'release'])
  })

  it('abort while a FETCH runs (own transaction): it rejects at once with the reason, the FETCH is cancelled on the server, the end is ROLLBACK once the cancel was delivered', async () => {
    const db = new ScriptedCursor()
    const session = await CursorSession.open(db, own)
    db.auto = false
    let deliver!: () => void
    db.cancelDelivered = new Promise((resolve) => (deliver = resolve))
    db.onCancel = undefined // the FETCH ends only later
    const controller = new AbortController()
    const fetched = session.fetch(5, controller.signal)
    const reason = new Error('stop requested')
    controller.abort(reason)
    await expect(fetched).rejects.toBe(reason)
    await expect(session.fetch(5)).rejects.toBe(reason) // stopped: nothing new is sent
    const closing = session.close()
    await flush()
    db.pending()!.reject(serverError('57014', 'canceling statement due to user request'))
    await flush()
    expect(db.log).toEqual(['begin', 'declare', 'fetch', 'cancel']) // no ROLLBACK before the cancel request was taken
    deliver()
    await flush()
    db.pending()!.resolve()
    await closing
    expect(db.log).toEqual(['begin', 'declare', 'fetch', 'cancel', 'cancel done', 'rollback', 'release'])
  })

  it("abort while a FETCH runs in the caller's transaction: not cancelled (that would abort the caller's transaction); the end waits for it, then CLOSE", async () => {
    const db = new ScriptedCursor()
    const session = await CursorSession.open(db, callers)
    db.auto = false
    const controller = new AbortController()
    const fetched = session.fetch(5, controller.signal)
    controller.abort(new Error('stop'))
    await expect(fetched).rejects.toThrow('stop')
    const closing = session.close()
    await flush()
    db.pending()!.resolve([1])
    await flush()
    db.pending()!.resolve()
    await closing
    expect(db.log).toEqual(['declare', 'fetch', 'closeCursor', 'release'])
  })

  it('close() while a FETCH sent ahead runs (break): cancelled too, ROLLBACK, connection back', async () => {
    const db = new ScriptedCursor()
    const session = await CursorSession.open(db, own)
    db.auto = false
    const ahead = session.fetch(5)
    ahead.catch(() => {})
    const closing = session.close()
    await flush()
    db.auto = true
    db.pending()?.resolve()
    await closing
    expect(db.log).toEqual(['begin', 'declare', 'fetch', 'cancel', 'cancel done', 'rollback', 'release'])
  })
})

describe('CursorSession: chunkTimeoutMs', () => {
  it('a FETCH that outlasts it rejects with a ChunkTimeoutError naming the option; it is cancelled, and once the server confirms the cancel the end is ROLLBACK and the connection goes back', async () => {
    const db = new ScriptedCursor()
    const session = await CursorSession.open(db, { ownsTransaction: true, chunkTimeoutMs: 20 })
    db.auto = false
    const fetched = session.fetch(7)
    await expect(fetched).rejects.toThrow(ChunkTimeoutError)
    await expect(fetched).rejects.toThrow(
      /^The cursor's FETCH of 7 rows did not finish within chunkTimeoutMs \(20 ms\): it was cancelled on the server/,
    )
    db.auto = true
    await session.close()
    expect(db.log).toEqual(['begin', 'declare', 'fetch', 'cancel', 'cancel done', 'rollback', 'release'])
  })

  it('a black-holed connection (the cancel changes nothing): after the wait for the cancel, the connection is destroyed without another statement', async () => {
    const db = new ScriptedCursor()
    const session = await CursorSession.open(db, { ownsTransaction: true, chunkTimeoutMs: 20, cancelWaitMs: 20 })
    db.auto = false
    db.onCancel = undefined
    await expect(session.fetch(7)).rejects.toThrow(ChunkTimeoutError)
    await session.close()
    expect(db.log).toEqual(['begin', 'declare', 'fetch', 'cancel', 'cancel done', 'destroy'])
    expect(String((db.releases[0]!.reason as Error).message)).toMatch(/did not end within 20 ms of its cancel request/)
  })

  it('without a way to cancel: the statement is waited for up to the same bound, then the connection is destroyed', async () => {
    const db = new ScriptedCursor()
    db.canCancel = false
    const session = await CursorSession.open(db, { ownsTransaction: true, chunkTimeoutMs: 20 })
    db.auto = false
    await expect(session.fetch(7)).rejects.toThrow(ChunkTimeoutError)
    await session.close()
    expect(db.log).toEqual(['begin', 'declare', 'fetch', 'destroy'])
  })

  it('bounds the end statement too: a COMMIT that never answers is cancelled and the connection destroyed', async () => {
    const db = new ScriptedCursor()
    const session = await CursorSession.open(db, { ownsTransaction: true, chunkTimeoutMs: 20 })
    db.auto = false
    await expect(session.close()).rejects.toThrow(ChunkTimeoutError)
    expect(db.log.filter((entry) => entry !== 'cancel done')).toEqual([
      'begin',
      'declare',
      'commit',
      'cancel',
      'destroy',
    ])
  })
})
