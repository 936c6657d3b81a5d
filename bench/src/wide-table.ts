import pg from 'pg'

/** The wide-row table of `npm run bench:wide`: `id` 1..N and a `payload` of exactly W ASCII characters per row. */
export const wideTableName = 'wide_events'

/** What `wide_events` should hold: `rows` rows of `width` bytes of payload each. */
export interface WideTableShape {
  rows: number
  /** Characters (= bytes: the payload is hex) of every row's `payload`. */
  width: number
}

/**
 * The checksum every wide mode reports: the sum of the ids plus the sum of the payload lengths. Exact in
 * a double up to far beyond what a benchmark seeds (20,000 rows of 1 MiB: 20,971,720,000).
 *
 * @example
 * expectedWideChecksum({ rows: 50, width: 65536 }) // 1275 + 3276800 = 3278075
 */
export function expectedWideChecksum({ rows, width }: WideTableShape): number {
  return (rows * (rows + 1)) / 2 + rows * width
}

/** The table comment written once seeding completed: a table without it (or with another) is reseeded. */
const shapeComment = ({ rows, width }: WideTableShape) => `batchyield bench:wide rows=${rows} width=${width}`

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await work(client)
  } finally {
    await client.end()
  }
}

/** Whether the table already holds exactly `shape`: its completion comment, count and max(id), and the first and last payload's length. */
async function holdsShape(client: pg.Client, shape: WideTableShape): Promise<boolean> {
  const {
    rows: [table],
  } = await client.query<{ comment: string | null }>(
    `SELECT obj_description(to_regclass($1), 'pg_class') AS comment WHERE to_regclass($1) IS NOT NULL`,
    [wideTableName],
  )
  if (table === undefined || table.comment !== shapeComment(shape)) return false
  const {
    rows: [row],
  } = await client.query<{ count: string; max: number | null; first: number | null; last: number | null }>(
    `SELECT count(*) AS count, max(id) AS max,
            (SELECT length(payload) FROM ${wideTableName} WHERE id = 1) AS first,
            (SELECT length(payload) FROM ${wideTableName} WHERE id = $1) AS last
       FROM ${wideTableName}`,
    [shape.rows],
  )
  return (
    Number(row?.count) === shape.rows &&
    row?.max === shape.rows &&
    row.first === shape.width &&
    row.last === shape.width
  )
}

/**
 * Makes `wide_events` hold exactly `rows` rows of `width` bytes: `id` 1..rows and `payload`, a row's
 * `md5(id)` repeated and cut to `width` characters. Skipped (`'reused'`) when the table already holds
 * exactly that; otherwise the table is recreated and filled server-side (`INSERT … SELECT` over
 * `generate_series`), in statements of about 256 MiB of payload, so nothing of it crosses the wire. The
 * repeated hex compresses well in TOAST (lz4 where the server has it, else pglz), so the table takes a
 * small fraction of its payload's size on disk.
 *
 * @example
 * await ensureWideEvents(url, { rows: 20_000, width: 1 << 20 }, (done, total) => console.log(done, total))
 */
export async function ensureWideEvents(
  url: string,
  shape: WideTableShape,
  onProgress?: (inserted: number, total: number) => void,
): Promise<'reused' | 'seeded'> {
  const { rows, width } = shape
  if (!Number.isSafeInteger(rows) || rows < 1 || !Number.isSafeInteger(width) || width < 1) {
    throw new RangeError(
      `wide_events needs a positive whole number of rows and bytes per row; received ${JSON.stringify(shape)}`,
    )
  }
  return withClient(url, async (client) => {
    if (await holdsShape(client, shape)) return 'reused'
    await client.query(`DROP TABLE IF EXISTS ${wideTableName}`)
    await client.query(`CREATE TABLE ${wideTableName} (id integer PRIMARY KEY, payload text NOT NULL)`)
    try {
      await client.query(`ALTER TABLE ${wideTableName} ALTER COLUMN payload SET COMPRESSION lz4`)
    } catch (error) {
      // a server built without lz4 (0A000) or older than PostgreSQL 14 (42601): pglz compresses the repeated hex too
      if (!['0A000', '42601'].includes((error as { code?: string }).code ?? '')) throw error
    }
    const repeats = Math.ceil(width / 32)
    const perStatement = Math.max(1, Math.floor((256 * 2 ** 20) / width))
    for (let from = 1; from <= rows; from += perStatement) {
      const to = Math.min(rows, from + perStatement - 1)
      await client.query(
        `INSERT INTO ${wideTableName} (id, payload)
         SELECT g, left(repeat(md5(g::text), $3::int), $4::int) FROM generate_series($1::int, $2::int) AS g`,
        [from, to, repeats, width],
      )
      onProgress?.(to, rows)
    }
    // Hint bits and the visibility map set now, so the first timed read does not write them.
    await client.query(`VACUUM ANALYZE ${wideTableName}`)
    await client.query(`COMMENT ON TABLE ${wideTableName} IS '${shapeComment(shape)}'`)
    return 'seeded'
  })
}

/**
 * {@link ensureWideEvents} that narrates: progress at most every 2 s, then whether it seeded or reused
 * the table, each as one line to `log`.
 */
export async function ensureWideEventsLogged(
  url: string,
  shape: WideTableShape,
  log: (line: string) => void,
): Promise<'reused' | 'seeded'> {
  let lastReport = 0
  const state = await ensureWideEvents(url, shape, (inserted, total) => {
    if (Date.now() - lastReport > 2000 || inserted === total) {
      lastReport = Date.now()
      log(`  seeding ${wideTableName}: ${inserted.toLocaleString('en-US')} / ${total.toLocaleString('en-US')}`)
    }
  })
  const what = `${shape.rows.toLocaleString('en-US')} rows of ${shape.width.toLocaleString('en-US')} bytes`
  log(
    state === 'reused'
      ? `  ${wideTableName} already holds ${what}: seeding skipped`
      : `  seeded ${wideTableName} with ${what}`,
  )
  return state
}

/**
 * Reads the table's TOAST relation (the compressed payloads, without decompressing them) and its heap
 * once, so the first timed run does not read them from disk while the later ones find them cached.
 */
export async function warmWideEvents(url: string): Promise<void> {
  await withClient(url, async (client) => {
    const {
      rows: [row],
    } = await client.query<{ toast: string | null }>(
      `SELECT reltoastrelid::regclass::text AS toast FROM pg_class WHERE oid = to_regclass($1)`,
      [wideTableName],
    )
    await client.query(`SELECT count(id) FROM ${wideTableName}`)
    if (row?.toast) await client.query(`SELECT sum(length(chunk_data)) FROM ${row.toast}`)
  })
}
