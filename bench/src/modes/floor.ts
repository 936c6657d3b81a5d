import pg from 'pg'
import Cursor from 'pg-cursor'
import type { Mode } from './mode.ts'

/** The floor: the raw driver reading a server-side cursor in chunks, rows left as plain objects. */
export const floor: Mode = {
  name: 'floor',
  library: 'pg',
  description: 'raw `pg` + `pg-cursor`, chunks of chunkSize, no hydration',
  consumerDelayMs: 0,
  supportsLimit: true,
  async prepare(config) {
    const client = new pg.Client({ connectionString: config.url })
    await client.connect()
    return {
      async run(sink) {
        const sql =
          config.limit === undefined ? 'SELECT * FROM events ORDER BY id' : 'SELECT * FROM events ORDER BY id LIMIT $1'
        const cursor = client.query(new Cursor(sql, config.limit === undefined ? [] : [config.limit]))
        try {
          for (;;) {
            const rows = await cursor.read(config.chunkSize)
            if (rows.length === 0) break
            await sink(rows)
          }
        } finally {
          await cursor.close()
        }
      },
      close: () => client.end(),
    }
  },
}
