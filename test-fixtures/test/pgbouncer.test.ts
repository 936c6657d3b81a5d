import { connect as connectTcp } from 'node:net'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { connect, startPgBouncer } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'

describe('startPgBouncer', () => {
  const db = useTestDatabase('postgres', { schema: false })

  for (const poolMode of ['session', 'transaction'] as const) {
    it(`${poolMode} pooling: queries the same database through PgBouncer; a cancel request sent to PgBouncer cancels the server's statement; close() stops it`, async () => {
      const bouncer = await startPgBouncer(db.url, { poolMode })
      expect(new URL(bouncer.url).port).not.toBe(new URL(db.url).port)
      const client = new pg.Client({ connectionString: bouncer.url })
      await client.connect()
      try {
        expect((await client.query('SELECT current_database() AS name')).rows).toEqual([{ name: db.name }])
        const slow = client.query('SELECT pg_sleep(30)').then(
          () => 'finished',
          (error: { code?: string }) => error.code,
        )
        await using direct = await connect(db.url)
        const running = () =>
          direct.query("SELECT pid FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND state = 'active'")
        await expect.poll(running, { timeout: 5000 }).toHaveLength(1)
        // a CancelRequest with the key PgBouncer gave the client, to PgBouncer's address
        const { processID, secretKey } = client as unknown as { processID: number; secretKey: number }
        await sendCancelRequest(new URL(bouncer.url), processID, secretKey)
        expect(await slow).toBe('57014')
        expect(await running()).toEqual([])
      } finally {
        await client.end().catch(() => {})
        await bouncer.close()
      }
      await expect(connect(bouncer.url, { connectTimeoutMs: 2000 })).rejects.toMatchObject({ code: 'ECONNREFUSED' })
    })
  }
})

/** PostgreSQL's CancelRequest (length 16, code 80877102, the backend key), on a new connection that the server then closes. */
function sendCancelRequest(url: URL, processID: number, secretKey: number): Promise<void> {
  const message = Buffer.alloc(16)
  message.writeInt32BE(16, 0)
  message.writeInt32BE(80877102, 4)
  message.writeInt32BE(processID, 8)
  message.writeInt32BE(secretKey, 12)
  return new Promise((resolve, reject) => {
    const socket = connectTcp(Number(url.port), url.hostname, () => socket.write(message)) // the server closes it once it has the request
    socket.on('error', reject)
    socket.on('close', () => resolve())
  })
}
