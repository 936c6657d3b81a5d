import { describe, expect, it } from 'vitest'
import { connect, openQueryGate, openTcpProxy, restartUnderGate } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'

describe('openTcpProxy (PostgreSQL)', () => {
  const db = useTestDatabase('postgres', { schema: false })

  it('forwards; reset() gives ECONNRESET to open connections, new ones still get through', async () => {
    await using proxy = await openTcpProxy(db.url)
    const first = await connect(proxy.url)
    try {
      expect(await first.query<{ n: number }>('SELECT 1 AS n')).toEqual([{ n: 1 }])
      proxy.reset()
      await expect(first.query('SELECT 1')).rejects.toThrow(/ECONNRESET|Connection terminated/)
    } finally {
      await first.close().catch(() => {})
    }
    await using second = await connect(proxy.url)
    expect(await second.query<{ n: number }>('SELECT 2 AS n')).toEqual([{ n: 2 }])
    expect(proxy.connections).toBe(2)
  })

  it('down() resets open connections and refuses new ones until up(), on the same address', async () => {
    await using proxy = await openTcpProxy(db.url)
    const open = await connect(proxy.url)
    try {
      proxy.down()
      await expect(open.query('SELECT 1')).rejects.toThrow()
    } finally {
      await open.close().catch(() => {})
    }
    await expect(connect(proxy.url, { connectTimeoutMs: 2000 })).rejects.toMatchObject({ code: 'ECONNREFUSED' })
    await proxy.up()
    await using again = await connect(proxy.url)
    expect(await again.query<{ n: number }>('SELECT 3 AS n')).toEqual([{ n: 3 }])
  })

  it('restart() is down(), then up() after the given time; restartUnderGate() restarts under a statement waiting at the gate', async () => {
    await using proxy = await openTcpProxy(db.url)
    await using gate = await openQueryGate(db.url)
    const victim = await connect(proxy.url)
    try {
      await gate.shut()
      const failed = victim.query(`SELECT 1 WHERE ${gate.condition}`).then(
        () => 'answered',
        (error: Error) => error.message,
      )
      await restartUnderGate(proxy, gate, { downMs: 200 })
      expect(await failed).toMatch(/ECONNRESET|Connection terminated/)
    } finally {
      await victim.close().catch(() => {})
    }
    await using after = await connect(proxy.url)
    expect(await after.query<{ n: number }>('SELECT 5 AS n')).toEqual([{ n: 5 }])
    await proxy.restart(100)
    await expect(after.query('SELECT 1')).rejects.toThrow()
    await using last = await connect(proxy.url)
    expect(await last.query<{ n: number }>('SELECT 6 AS n')).toEqual([{ n: 6 }])
  })

  it('restartUnderGate() rejects when no statement comes to the gate, and leaves it open', async () => {
    await using proxy = await openTcpProxy(db.url)
    await using gate = await openQueryGate(db.url)
    await gate.shut()
    await expect(restartUnderGate(proxy, gate, { timeoutMs: 200 })).rejects.toThrow(
      'no statement came to the shut gate within 200 ms',
    )
    await using client = await connect(db.url)
    expect(await client.query<{ n: number }>(`SELECT 7 AS n WHERE ${gate.condition}`)).toEqual([{ n: 7 }])
  })
})
