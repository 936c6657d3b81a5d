import type { Dialect } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import type { DataSource, ObjectLiteral, SelectQueryBuilder } from 'typeorm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { aiterator, InvalidResumeTokenError } from '../src/index.js'
import { collect } from './support/collect.js'
import { openDataSource } from './support/data-source.js'
import { Author, Book, Country, OrderLine } from './support/entities.js'

// A backfill crashes after some batches; a new process (here: a new DataSource) resumes with the
// last cursor that onProgress reported, and together the two runs yield every entity exactly once.

const crash = new Error('simulated crash')

/** Runs until `batchesBeforeCrash` batches were handled, then throws; returns the handled batches and the last token. */
async function runUntilCrash<E extends ObjectLiteral>(qb: SelectQueryBuilder<E>, batchYieldSize: number, batchesBeforeCrash: number) {
  const handled: E[][] = []
  let reported: string | undefined // onProgress runs just before the batch is yielded
  let token: string | undefined // saved once the batch is handled
  await expect(async () => {
    for await (const batch of aiterator(qb, { batchYieldSize, chunkSize: 13, onProgress: (p) => (reported = p.cursor) })) {
      if (handled.length === batchesBeforeCrash) throw crash
      handled.push(batch)
      token = reported
    }
  }).rejects.toBe(crash)
  return { handled, token: token! }
}

const cases: { name: string; query: (ds: DataSource) => SelectQueryBuilder<ObjectLiteral>; id: (e: ObjectLiteral) => unknown }[] = [
  {
    name: 'nullable timestamp DESC (the crash lands among NULLs)',
    query: (ds) => ds.getRepository(Book).createQueryBuilder('b').orderBy('b.publishedAt', 'DESC'),
    id: (b) => b.id,
  },
  {
    name: 'nullable timestamp ASC, crossing into the NULLs',
    query: (ds) => ds.getRepository(Book).createQueryBuilder('b').orderBy('b.publishedAt', 'ASC'),
    id: (b) => b.id,
  },
  {
    name: 'one-to-many join',
    query: (ds) => ds.getRepository(Author).createQueryBuilder('a').leftJoinAndSelect('a.books', 'bk').orderBy('a.createdAt', 'ASC').addOrderBy('a.id').addOrderBy('bk.id'),
    id: (a) => a.id,
  },
  {
    name: 'composite primary key',
    query: (ds) => ds.getRepository(OrderLine).createQueryBuilder('l').orderBy('l.quantity', 'ASC'),
    id: (l) => [l.orderId, l.lineNo],
  },
  {
    name: 'hostile string keys',
    query: (ds) => ds.getRepository(Country).createQueryBuilder('c').orderBy('c.code', 'ASC'),
    id: (c) => c.code,
  },
]

for (const dialect of ['postgres', 'mariadb'] as Dialect[]) {
  describe(`resume on ${dialect}`, () => {
    const db = useTestDatabase(dialect, { seed: true })
    let ds: DataSource
    beforeAll(async () => {
      ds = await openDataSource(dialect, db.url)
    })
    afterAll(async () => {
      await ds?.destroy()
    })

    describe.each(cases)('resume after a crash: $name', ({ query, id }) => {
      it.each([
        { batchYieldSize: 7, crashAfter: 3 },
        { batchYieldSize: 1, crashAfter: 1 },
        { batchYieldSize: 25, crashAfter: 1 },
      ])('batchYieldSize $batchYieldSize, crash after $crashAfter batches', async ({ batchYieldSize, crashAfter }) => {
        const everything = await collect(aiterator(query(ds), { batchYieldSize: 1000 }))
        const { handled, token } = await runUntilCrash(query(ds), batchYieldSize, crashAfter)
        expect(typeof token).toBe('string')

        const fresh = await openDataSource(dialect, db.url) // "a new process"
        try {
          const rest = await collect(aiterator(query(fresh), { batchYieldSize, after: token }))
          const joined = [...handled.flat(), ...rest.flat()]
          expect(joined.map(id)).toEqual(everything.flat().map(id))
          expect(joined).toStrictEqual(everything.flat())
        } finally {
          await fresh.destroy()
        }
      })
    })

    describe('resume tokens', () => {
      it('a token of the last batch resumes to an empty run', async () => {
        let token: string | undefined
        await collect(aiterator(ds.getRepository(Book).createQueryBuilder('b'), { batchYieldSize: 100, onProgress: (p) => (token = p.cursor) }))
        expect(await collect(aiterator(ds.getRepository(Book).createQueryBuilder('b'), { batchYieldSize: 100, after: token }))).toEqual([])
      })

      it('skip() is not applied again on resume; take() counts within the run', async () => {
        const qb = () => ds.getRepository(Book).createQueryBuilder('b').orderBy('b.id').skip(10)
        const { token } = await runUntilCrash(qb(), 5, 2)
        const rest = await collect(aiterator(qb().take(3), { batchYieldSize: 5, after: token }))
        expect(rest.flat().map((b) => b.id)).toEqual([21, 22, 23])
      })

      it('a token from a query with another ordering is rejected before any query', () => {
        let token: string | undefined
        return collect(aiterator(ds.getRepository(Book).createQueryBuilder('b').orderBy('b.rating'), { batchYieldSize: 50, limit: 50, onProgress: (p) => (token = p.cursor) })).then(() => {
          expect(() => aiterator(ds.getRepository(Book).createQueryBuilder('b').orderBy('b.publishedAt'), { after: token })).toThrow(InvalidResumeTokenError)
          expect(() => aiterator(ds.getRepository(Country).createQueryBuilder('c'), { after: token })).toThrow(InvalidResumeTokenError)
        })
      })

      it('garbage and tampered tokens are rejected with InvalidResumeTokenError', async () => {
        let token = ''
        await collect(aiterator(ds.getRepository(Book).createQueryBuilder('b'), { batchYieldSize: 10, limit: 10, onProgress: (p) => (token = p.cursor!) }))
        const tampered = token.slice(0, -2) + (token.endsWith('A') ? 'BB' : 'AA')
        for (const bad of ['garbage', '', tampered, token.slice(0, 5)]) {
          expect(() => aiterator(ds.getRepository(Book).createQueryBuilder('b'), { after: bad })).toThrow(InvalidResumeTokenError)
        }
      })
    })
  })
}
