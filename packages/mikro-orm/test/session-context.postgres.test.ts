/**
 * Row-level security through MikroORM's session context (`em.setSessionContext({ role, variables })`):
 * em.find applies it in a short transaction of its own for every read; both strategies must read
 * under it too, or a tenant's loop would see every tenant's rows.
 */
import { randomBytes } from 'node:crypto'
import { connect, seedEvents } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import '../src/index.js'
import { entities, Event, EventSchema } from './entities.js'
import { collect, collectBatches, expectSettled, openOrm, pkOf, type TestOrm } from './support.js'

const db = useTestDatabase('postgres', { seed: true })
// Superusers bypass row-level security: the session context switches to this role. Roles are
// server-wide, hence a name of its own, dropped afterwards.
const role = `by_rls_reader_${randomBytes(4).toString('hex')}`
let t: TestOrm

beforeAll(async () => {
  await seedEvents(db.url, 600)
  await using sql = await connect(db.url)
  await sql.query(`CREATE ROLE "${role}" NOLOGIN`)
  await sql.query(`GRANT USAGE ON SCHEMA public TO "${role}"`)
  await sql.query(`GRANT SELECT ON events TO "${role}"`)
  await sql.query('ALTER TABLE events ENABLE ROW LEVEL SECURITY')
  await sql.query("CREATE POLICY events_of_user ON events FOR SELECT USING (kind = current_setting('app.kind'))")
  t = openOrm('postgres', db.url, { entities: [...entities, EventSchema] })
})
afterAll(async () => {
  await t?.close()
  await using sql = await connect(db.url)
  await sql.query('DROP POLICY IF EXISTS events_of_user ON events')
  await sql.query(`REVOKE ALL ON events FROM "${role}"`)
  await sql.query(`REVOKE ALL ON SCHEMA public FROM "${role}"`)
  await sql.query(`DROP ROLE IF EXISTS "${role}"`)
})

describe('the EntityManager’s session context (row-level security)', () => {
  it.each([
    ['keyset', {}],
    ['cursor', {}],
    ['cursor', { fields: ['id', 'kind'] }], // the key cursor, then em.find by key
  ] as const)(
    '%s %j reads exactly the rows em.find reads under it, and leaves nothing open',
    async (strategy, extra) => {
      const em = t.em.fork()
      em.setSessionContext({ role, variables: { 'app.kind': 'refund' } })
      const expected = await em.fork().find(Event, {}, { orderBy: { id: 'asc' } })
      expect(expected.length).toBeGreaterThan(0)
      expect(expected.length).toBeLessThan(600)
      expect(new Set(expected.map((e) => e.kind))).toEqual(new Set(['refund']))
      const actual = (
        await collectBatches(em.aiterator(Event, { strategy, chunkSize: 7, batchYieldSize: 5, ...extra } as never))
      ).flat() as Event[]
      expect(actual.map(pkOf)).toEqual(expected.map(pkOf))
      await expectSettled(t.orm, db.url, db.name)
    },
  )

  it.each(['keyset', 'cursor'] as const)(
    '%s with a role that does not exist fails as em.find fails, and leaves nothing open',
    async (strategy) => {
      const em = t.em.fork()
      em.setSessionContext({ role: `${role}_missing`, variables: { 'app.kind': 'refund' } })
      const findError = (await em
        .fork()
        .find(Event, {})
        .catch((error: unknown) => error)) as Error
      expect(findError.message).toMatch(/role .* does not exist/)
      await expect(collect(em.aiterator(Event, { strategy }))).rejects.toThrow(/role .* does not exist/)
      await expectSettled(t.orm, db.url, db.name)
    },
  )
})
