/**
 * PostgreSQL column types whose hydrated value is not what the database compares, as keyset sort
 * keys; json, which has no ordering, refused before any query; and the progress guard stopping a
 * run whose key is lossy in a way no table can know.
 */
import { KeysetProgressError } from '@batchyield/batch-core'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import '../src/index.js'
import { KeysetOrderingError } from '../src/index.js'
import { Code, exactKeyOptions, expectKeysetEqualsFind, PgKeyRow, seedExactKeys, Shape } from './exact-keys-entities.js'
import { collect, collectBatches, openOrm, pkOf, type TestOrm, within } from './support.js'

describe('PostgreSQL: keyset sort keys whose hydrated value is not what the database compares', () => {
  const db = useTestDatabase('postgres', { schema: false })
  let t: TestOrm
  beforeAll(async () => {
    t = openOrm('postgres', db.url, exactKeyOptions('postgres'))
    await seedExactKeys(t.orm, 'postgres', db.url)
  })
  afterAll(() => t?.close())

  const keys = [
    ['numeric(30,10) hydrated as a JS number (neighbours collide)', 'amount'],
    ['jsonb (hydrated as a parsed value)', 'docb'],
    ['double precision with values one ulp apart (exact as hydrated)', 'measure'],
    ['real with float32 neighbours, NaN and ±Infinity (exact as hydrated, bound as text)', 'ratio'],
  ] as const
  for (const [type, property] of keys) {
    for (const direction of ['asc', 'desc'] as const) {
      it(`${type}, ${direction}: every row once, in em.find's order, with chunkSize 1, 2, 3 and 7`, async () => {
        await expectKeysetEqualsFind(t.em, PgKeyRow, { [property]: direction })
      })
    }
  }

  it('a resume token taken inside a run of numeric ties resumes exactly', async () => {
    const options = { orderBy: { amount: 'asc' }, strategy: 'keyset', chunkSize: 2, batchYieldSize: 3 } as const
    const tokens: string[] = []
    const full = (
      await collectBatches(t.em.aiterator(PgKeyRow, { ...options, onProgress: (p) => tokens.push(p.cursor!) }))
    )
      .flat()
      .map(pkOf)
    for (const at of [0, 4, 9]) {
      const rest = (
        await collectBatches(t.em.aiterator(PgKeyRow, { ...options, after: tokens[at], limit: full.length }))
      )
        .flat()
        .map(pkOf)
      expect([...full.slice(0, (at + 1) * 3), ...rest], `after batch ${at + 1}`).toEqual(full)
    }
  })

  it('double precision keys are sought from hydrated values: no exact read, one query per chunk', async () => {
    const before = t.queries.length
    let chunks = 0
    await collectBatches(
      t.em.aiterator(PgKeyRow, {
        orderBy: { measure: 'asc' },
        chunkSize: 7,
        batchYieldSize: 7,
        onProgress: (p) => (chunks = p.chunks),
      }),
    )
    const sent = t.queries.slice(before)
    expect(sent.filter((sql) => sql.includes('__exact'))).toEqual([])
    expect(chunks).toBe(6)
    // one query per chunk, plus the NULL region's once the values are done (measure is nullable)
    expect(sent.length).toBeLessThanOrEqual(chunks + 1)
  })

  describe('json (no ordering on PostgreSQL)', () => {
    it("strategy 'keyset' throws a KeysetOrderingError naming the property, its type and the way out, before any query", () => {
      const before = t.queries.length
      expect(() => t.em.aiterator(PgKeyRow, { orderBy: { doc: 'asc' }, strategy: 'keyset' })).toThrow(
        KeysetOrderingError,
      )
      expect(() => t.em.aiterator(PgKeyRow, { orderBy: { doc: 'asc' }, strategy: 'keyset' })).toThrow(
        /PgKeyRow\.doc, a json column.*jsonb has one.*strategy: 'cursor'/,
      )
      expect(t.queries.length).toBe(before)
    })

    it("'auto' takes the cursor, which does what em.find does: the database refuses ORDER BY json", async () => {
      const reference = await t.em
        .fork()
        .find(PgKeyRow, {}, { orderBy: [{ doc: 'asc' }, { id: 'asc' }] })
        .then(
          () => 'resolved',
          (error: Error) => error.message,
        )
      expect(reference).toMatch(/could not identify an ordering operator for type json/)
      const before = t.queries.length
      const run = await collect(t.em.aiterator(PgKeyRow, { orderBy: { doc: 'asc' } })).then(
        () => 'resolved',
        (error: Error) => error.message,
      )
      expect(run).toBe(reference)
      expect(t.queries.slice(before).some((sql) => /declare .* cursor/i.test(sql))).toBe(true)
    })

    it("'auto' with json only in the where clause or selected stays on keyset and equals em.find", async () => {
      const expected = (await t.em.fork().find(PgKeyRow, { doc: { $ne: null } }, { orderBy: { id: 'desc' } })).map(pkOf)
      const ids = (
        await collectBatches(
          t.em.aiterator(PgKeyRow, {
            where: { doc: { $ne: null } },
            orderBy: { id: 'desc' },
            chunkSize: 3,
            batchYieldSize: 5,
          }),
        )
      )
        .flat()
        .map(pkOf)
      expect(ids).toEqual(expected)
    })
  })

  it('single-table inheritance: the discriminator column is a sort key like any other column', async () => {
    await expectKeysetEqualsFind(t.em, Shape, { kind: 'desc' })
    await expectKeysetEqualsFind(t.em, Shape, { kind: 'asc' })
  })

  it('a key that hydrates lossily while claiming to be exact (a custom type keeping 3 characters): the progress guard stops the run with KeysetProgressError', async () => {
    // every code hydrates as 'abc', so the seek after ('abc', 2) returns rows 1 and 2 again
    const run = collectBatches(
      t.em.aiterator(Code, {
        orderBy: { code: 'asc' },
        strategy: 'keyset',
        chunkSize: 2,
        batchYieldSize: 2,
        limit: 50,
      }),
    )
    const error = await within(
      10_000,
      run.then(
        () => undefined,
        (e: unknown) => e,
      ),
      'the lossy run',
    )
    expect(error).toBeInstanceOf(KeysetProgressError)
    expect((error as Error).message).toMatch(
      /Code ordered by code, id: chunk 2 returned the row \("abc\w*", 1\) that chunk 1 already returned/,
    )
    // the same with em.find per chunk (populating a lazy property leaves the plain read)
    const viaFind = collectBatches(
      t.em.aiterator(Code, {
        orderBy: { code: 'asc' },
        strategy: 'keyset',
        chunkSize: 3,
        batchYieldSize: 3,
        limit: 50,
        populate: ['note'],
      }),
    )
    await expect(within(10_000, viaFind, 'the lossy run')).rejects.toThrow(KeysetProgressError)
  })
})
