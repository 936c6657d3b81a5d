import { describe, expect, it } from 'vitest'
import { connect, listSessions, openQueryGate, terminateSessions } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'

describe('a query gate (PostgreSQL)', () => {
  const db = useTestDatabase('postgres')

  it('lets every row through while open, holds a statement at its first row while shut, and lets it finish once opened', async () => {
    await using gate = await openQueryGate(db.url)
    await using reader = await connect(db.url)
    const count = `SELECT count(*)::int AS n FROM generate_series(1, 50) AS s WHERE ${gate.condition}`
    expect(await reader.query(count)).toEqual([{ n: 50 }])
    expect(await gate.waiting(0)).toEqual([])

    await gate.shut()
    const held = reader.query<{ n: number }>(count)
    const [pid, ...others] = await gate.waiting()
    expect(others).toEqual([])
    expect((await listSessions(db.url)).find((s) => s.id === pid)?.state).toBe('active')
    await gate.open()
    expect(await held).toEqual([{ n: 50 }])
    expect(await gate.waiting(0)).toEqual([])
  })

  it('holds a cursor FETCH inside a transaction too, and the reader keeps no lock between rows', async () => {
    await using gate = await openQueryGate(db.url)
    await using reader = await connect(db.url)
    await reader.query('BEGIN')
    await reader.query(
      `DECLARE c NO SCROLL CURSOR FOR SELECT s FROM generate_series(1, 10) AS s WHERE ${gate.condition}`,
    )
    expect(await reader.query('FETCH FORWARD 3 FROM c')).toHaveLength(3)
    // shutting succeeds while the reader's transaction is open: it holds no share of the lock
    await gate.shut()
    const fetch = reader.query('FETCH FORWARD 3 FROM c')
    expect(await gate.waiting()).toHaveLength(1)
    await gate.open()
    expect(await fetch).toHaveLength(3)
    await reader.query('COMMIT')
  })

  it('a session killed while it waits at the gate fails that statement', async () => {
    await using gate = await openQueryGate(db.url)
    const reader = await connect(db.url)
    try {
      await gate.shut()
      const held = reader.query(`SELECT 1 WHERE ${gate.condition}`)
      const rejected = expect(held).rejects.toThrow(/terminat/)
      const pids = await gate.waiting()
      expect(await terminateSessions(db.url, pids)).toEqual(pids)
      await rejected
    } finally {
      await reader.close().catch(() => {})
    }
  })

  it('is PostgreSQL only', async () => {
    await expect(openQueryGate('mysql://root@127.0.0.1:3306/test')).rejects.toThrow(/PostgreSQL only/)
  })
})

describe('killWaiting (PostgreSQL)', () => {
  const db = useTestDatabase('postgres')

  it('shuts the gate and ends the session waiting at it; with nobody waiting it ends nothing', async () => {
    await using gate = await openQueryGate(db.url)
    expect(await gate.killWaiting(50)).toEqual([])
    const reader = await connect(db.url)
    try {
      const held = reader.query(`SELECT 1 WHERE ${gate.condition}`)
      const rejected = expect(held).rejects.toThrow(/terminat/)
      const [pid, ...others] = await gate.killWaiting(10_000)
      expect(others).toEqual([])
      await rejected
      expect((await listSessions(db.url)).map((s) => s.id)).not.toContain(pid)
    } finally {
      await reader.close().catch(() => {})
    }
  })
})
