import { describe, expect, it } from 'vitest'
import { connect, dialects, listSessions, terminateSessions } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'

describe.each(dialects)('sessions on %s', (dialect) => {
  const db = useTestDatabase(dialect)
  const insertTag =
    dialect === 'postgres' ? 'INSERT INTO tags (name) VALUES ($1)' : 'INSERT INTO tags (name) VALUES (?)'

  it('lists other sessions on the database, telling idle from idle in transaction', async () => {
    expect(await listSessions(db.url)).toEqual([])
    await using idle = await connect(db.url)
    await using busy = await connect(db.url)
    await idle.query('SELECT 1')
    await busy.query(dialect === 'postgres' ? 'BEGIN' : 'START TRANSACTION')
    await busy.query(insertTag, [`open-${dialect}`])

    const sessions = await listSessions(db.url)
    expect(sessions).toHaveLength(2)
    expect(sessions.map((s) => s.state).sort()).toEqual(['idle', 'idle in transaction'])
    expect(sessions.filter((s) => s.inTransaction)).toHaveLength(1)
    await busy.query('ROLLBACK')
    expect((await listSessions(db.url)).filter((s) => s.inTransaction)).toEqual([])
  })

  it('terminates sessions, so their next statement fails, and reports the ids it ended', async () => {
    const victim = await connect(db.url)
    try {
      await victim.query('SELECT 1')
      const [session] = await listSessions(db.url)
      expect(await terminateSessions(db.url)).toEqual([session?.id])
      await expect(victim.query('SELECT 1')).rejects.toThrow()
      expect(await listSessions(db.url)).toEqual([])
    } finally {
      await victim.close().catch(() => {})
    }
  })

  it('terminates only the sessions named', async () => {
    await using keep = await connect(db.url)
    await using end = await connect(db.url)
    await keep.query('SELECT 1')
    await end.query('SELECT 1')
    const before = await listSessions(db.url)
    expect(before).toHaveLength(2)
    const target = before[1]?.id as number
    expect(await terminateSessions(db.url, [target])).toEqual([target])
    expect((await listSessions(db.url)).map((s) => s.id)).toEqual(
      before.filter((s) => s.id !== target).map((s) => s.id),
    )
    await expect(keep.query('SELECT 1')).resolves.toBeDefined()
  })
})
