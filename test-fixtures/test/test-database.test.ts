import { spawn } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import {
  connect,
  createTestDatabase,
  databaseUrls,
  type Dialect,
  dialects,
  dropStaleTestDatabases,
  fixtureTables,
  listSessions,
} from '@batchyield/test-fixtures'

async function databaseExists(dialect: Dialect, name: string): Promise<boolean> {
  await using server = await connect(databaseUrls[dialect])
  const rows =
    dialect === 'postgres'
      ? await server.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])
      : await server.query('SELECT 1 FROM information_schema.schemata WHERE schema_name = ?', [name])
  return rows.length === 1
}

async function tablesIn(url: string, dialect: Dialect): Promise<string[]> {
  await using connection = await connect(url)
  const rows =
    dialect === 'postgres'
      ? await connection.query<{ name: string }>("SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'")
      : await connection.query<{ name: string }>(
          'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = database()',
        )
  return rows.map((row) => row.name).sort()
}

async function createRawDatabase(dialect: Dialect, name: string): Promise<void> {
  await using server = await connect(databaseUrls[dialect])
  await server.query(dialect === 'postgres' ? `CREATE DATABASE "${name}"` : `CREATE DATABASE \`${name}\``)
}

describe.each(dialects)('createTestDatabase on %s', (dialect) => {
  it('creates a uniquely named database on the configured server with every fixture table', async () => {
    const db = await createTestDatabase({ dialect })
    try {
      expect(db.dialect).toBe(dialect)
      expect(db.name).toMatch(/^by_[0-9a-z]+_\d+_[0-9a-f]{8}$/)
      expect(db.url.endsWith(`/${db.name}`)).toBe(true)
      expect(await databaseExists(dialect, db.name)).toBe(true)
      expect(await tablesIn(db.url, dialect)).toEqual([...fixtureTables].sort())
    } finally {
      await db.drop()
    }
  })

  it('isolates databases: rows written in one are invisible in another', async () => {
    await using a = await createTestDatabase({ dialect })
    await using b = await createTestDatabase({ dialect })
    expect(a.name).not.toBe(b.name)
    {
      await using connection = await connect(a.url)
      await connection.query(
        dialect === 'postgres' ? 'INSERT INTO tags (name) VALUES ($1)' : 'INSERT INTO tags (name) VALUES (?)',
        ['only-in-a'],
      )
    }
    await using connectionB = await connect(b.url)
    expect(await connectionB.query('SELECT * FROM tags')).toEqual([])
  })

  it('drop() removes the database even while a session holds an open transaction in it, and can be repeated', async () => {
    const db = await createTestDatabase({ dialect })
    const straggler = await connect(db.url)
    try {
      await straggler.query(dialect === 'postgres' ? 'BEGIN' : 'START TRANSACTION')
      await straggler.query(
        dialect === 'postgres' ? 'INSERT INTO tags (name) VALUES ($1)' : 'INSERT INTO tags (name) VALUES (?)',
        ['uncommitted'],
      )
      await db.drop()
      expect(await databaseExists(dialect, db.name)).toBe(false)
      await expect(db.drop()).resolves.toBeUndefined()
    } finally {
      await straggler.close().catch(() => {})
    }
  })

  if (dialect === 'postgres') {
    it('ends a running query soon after its client process dies', async () => {
      await using db = await createTestDatabase({ dialect })
      const script = `
        const pg = require('pg')
        const client = new pg.Client({ connectionString: process.argv[1] })
        client.connect().then(() => { client.query('SELECT pg_sleep(600)').catch(() => {}); setTimeout(() => process.kill(process.pid, 'SIGKILL'), 300) })
      `
      const child = spawn(process.execPath, ['-e', script, db.url], { stdio: 'ignore' })
      await new Promise((resolve) => child.on('exit', resolve))
      const sleeping = async () =>
        (await listSessions(db.url)).filter((session) => session.query?.includes('pg_sleep(600)')).length
      const deadline = Date.now() + 10_000
      while ((await sleeping()) > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200))
      expect(await sleeping()).toBe(0)
    })
  }

  it('drop() gives up after dropTimeoutMs with a clear error while a lock holds it up, and succeeds once it is gone', async () => {
    const db = await createTestDatabase({ dialect, dropTimeoutMs: 1_000 })
    // A session on another database keeps a lock on the test database (PostgreSQL) or one of its tables (MariaDB).
    const holder = await connect(databaseUrls[dialect])
    try {
      if (dialect === 'postgres') {
        await holder.query('BEGIN')
        await holder.query(`COMMENT ON DATABASE "${db.name}" IS 'held'`)
      } else {
        await holder.query('START TRANSACTION')
        await holder.query(`SELECT * FROM \`${db.name}\`.tags`)
      }
      await expect(db.drop()).rejects.toThrow(`Could not drop test database ${db.name} within 1000 ms`)
      expect(await databaseExists(dialect, db.name)).toBe(true)
      await holder.query('ROLLBACK')
      // Once the lock is gone the drop must succeed; a busy server (CI runs every package at once) can take
      // longer than the 1 s budget above for any DROP DATABASE, so this call gets the default budget.
      await db.drop({ timeoutMs: 30_000 })
      expect(await databaseExists(dialect, db.name)).toBe(false)
    } finally {
      await holder.close()
      await db.drop().catch(() => {})
    }
  })

  it('ends the scope of `await using` by dropping the database', async () => {
    let name = ''
    {
      await using db = await createTestDatabase({ dialect })
      name = db.name
      expect(await databaseExists(dialect, name)).toBe(true)
    }
    expect(await databaseExists(dialect, name)).toBe(false)
  })

  it('creates an empty database with schema: false', async () => {
    await using db = await createTestDatabase({ dialect, schema: false })
    expect(await tablesIn(db.url, dialect)).toEqual([])
  })

  it('orders text byte-wise, so upper case sorts before lower case and "ab" differs from "AB"', async () => {
    await using db = await createTestDatabase({ dialect })
    await using connection = await connect(db.url)
    const insert =
      dialect === 'postgres'
        ? 'INSERT INTO countries (code, name, population) VALUES ($1, $2, $3), ($4, $5, $6), ($7, $8, $9)'
        : 'INSERT INTO countries (code, name, population) VALUES (?, ?, ?), (?, ?, ?), (?, ?, ?)'
    await connection.query(insert, ['b', 'b', 1, 'AB', 'AB', 2, 'ab', 'ab', 3])
    const rows = await connection.query<{ code: string }>('SELECT code FROM countries ORDER BY code')
    expect(rows.map((row) => row.code)).toEqual(['AB', 'ab', 'b'])
  })

  it('drops leftover test databases older than the cutoff and keeps younger ones', async () => {
    // 40 minutes old, with a 30-minute cutoff: old for this call, young for the 2-hour cutoff of the
    // global setups of the packages testing at the same time, which would otherwise race it to the drop
    const old = `by_${(Date.now() - 40 * 60_000).toString(36)}_1_0badc0de`
    await createRawDatabase(dialect, old)
    await using young = await createTestDatabase({ dialect, schema: false })
    const dropped = await dropStaleTestDatabases(dialect, { olderThanMs: 30 * 60_000 })
    expect(dropped).toContain(old)
    expect(dropped).not.toContain(young.name)
    expect(await databaseExists(dialect, old)).toBe(false)
    expect(await databaseExists(dialect, young.name)).toBe(true)
  })
})

describe('createTestDatabase input', () => {
  it('rejects an unknown dialect, naming the accepted ones', async () => {
    await expect(createTestDatabase({ dialect: 'sqlite' as Dialect })).rejects.toThrow(
      /dialect must be one of 'postgres', 'mariadb', received "sqlite"/,
    )
  })

  it('rejects a dropTimeoutMs that is not a positive integer', async () => {
    await expect(createTestDatabase({ dialect: 'postgres', dropTimeoutMs: 0 })).rejects.toThrow(
      /dropTimeoutMs must be a positive integer \(milliseconds\), received 0/,
    )
  })

  it('rejects a drop() timeoutMs that is not a positive integer, leaving the database in place', async () => {
    await using db = await createTestDatabase({ dialect: 'postgres' })
    await expect(db.drop({ timeoutMs: 1.5 })).rejects.toThrow(
      /timeoutMs must be a positive integer \(milliseconds\), received 1.5/,
    )
    expect(await databaseExists('postgres', db.name)).toBe(true)
  })

  it('rejects a server URL of the other dialect', async () => {
    await expect(createTestDatabase({ dialect: 'postgres', serverUrl: databaseUrls.mariadb })).rejects.toThrow(
      /is not a postgres URL/,
    )
  })
})
