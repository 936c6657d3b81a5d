import { describe, expect, it } from 'vitest'
import { connect, openTcpProxy } from '@batchyield/test-fixtures'
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
})
