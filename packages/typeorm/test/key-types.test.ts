import 'reflect-metadata'
import { type Dialect, dialects } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import {
  ChildEntity,
  Column,
  DataSource,
  Entity,
  ManyToOne,
  type ObjectLiteral,
  PrimaryColumn,
  type SelectQueryBuilder,
  TableInheritance,
  Tree,
  TreeChildren,
  TreeParent,
  type ValueTransformer,
} from 'typeorm'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { aiterator, KeysetOrderingError, KeysetProgressError } from '../src/index.js'
import { QueryCounter } from './support/data-source.js'

// The column types that broke keyset before sort keys were read and compared by batch-core's
// key-type table (issue 15): each is iterated with small chunks and compared entity by entity
// with getMany(). The wider type matrix is the conformance suite's; these pin the reported cases.

/** A DECIMAL(30,10) that the entity holds as a JS number: the number cannot hold every stored value. */
const decimalNumber: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | null) => (value === null ? null : Number(value)),
}

const MOODS = ['zeta', 'alpha', 'mid'] as const

function keyEntities(dialect: Dialect) {
  const mariadb = dialect === 'mariadb'
  @Entity('key_rows')
  class KeyRow {
    @PrimaryColumn('int')
    id!: number

    // declared out of alphabetical order: MariaDB sorts an ENUM by declaration order
    @Column({ type: 'enum', enum: MOODS, enumName: 'key_mood', nullable: true })
    mood!: string | null

    @Column({ type: 'simple-enum', enum: MOODS, nullable: true })
    simpleMood!: string | null

    @Column({ type: mariadb ? 'float' : 'real', nullable: true })
    single!: number | null

    @Column({ type: mariadb ? 'double' : 'double precision', nullable: true })
    double!: number | null

    @Column({ type: 'decimal', precision: 30, scale: 10, nullable: true, transformer: decimalNumber })
    amount!: number | null

    @Column({ type: mariadb ? 'json' : 'jsonb', nullable: true })
    doc!: unknown

    @Column({ type: mariadb ? 'bit' : 'boolean', nullable: true })
    flag!: unknown

    // the type given as the Date constructor, as decorator metadata would give it
    @Column({ type: Date, precision: 6, nullable: true })
    at!: Date | null
  }

  @Entity('key_json')
  class JsonRow {
    @PrimaryColumn('int')
    id!: number

    @Column({ type: 'json', nullable: true })
    doc!: unknown
  }

  @Entity('key_people')
  @TableInheritance({ column: { type: 'varchar', length: 20, name: 'kind' } })
  class Person {
    @PrimaryColumn('int')
    id!: number

    @Column({ type: 'varchar', length: 40 })
    name!: string
  }

  @ChildEntity('student')
  class Student extends Person {}

  @ChildEntity('teacher')
  class Teacher extends Person {}

  @Entity('key_lessons')
  class Lesson {
    @PrimaryColumn('int')
    id!: number

    // implicit join columns: studentId and teacherId have no property of their own
    @ManyToOne(() => Person, { nullable: true })
    student!: Person | null

    @ManyToOne(() => Person, { nullable: true })
    teacher!: Person | null
  }

  @Entity('key_categories')
  @Tree('materialized-path')
  class Category {
    @PrimaryColumn('int')
    id!: number

    @Column({ type: 'varchar', length: 40 })
    name!: string

    @TreeParent()
    parent!: Category | null

    @TreeChildren()
    children!: Category[]
  }

  @Entity('key_regions')
  @Tree('nested-set')
  class Region {
    @PrimaryColumn('int')
    id!: number

    @Column({ type: 'varchar', length: 40 })
    name!: string

    @TreeParent()
    parent!: Region | null

    @TreeChildren()
    children!: Region[]
  }

  // The database column is DOUBLE; the entity says int (a schema that drifted from its entity).
  @Entity('key_drift')
  class Drift {
    @PrimaryColumn('int')
    id!: number

    @Column({ type: 'int' })
    value!: number
  }

  return { KeyRow, JsonRow, Person, Student, Teacher, Lesson, Category, Region, Drift }
}

const NEIGHBOUR = 937.1679094620049
/** The next double above `x` (one ulp apart). */
function nextUp(x: number): number {
  const view = new DataView(new ArrayBuffer(8))
  view.setFloat64(0, x)
  view.setBigUint64(0, view.getBigUint64(0) + 1n)
  return view.getFloat64(0)
}

/** ~40 rows with NULLs, duplicates and values that differ below what a JS number or Date keeps. */
function keyRows(dialect: Dialect) {
  const rows: Record<string, unknown>[] = []
  const doubles = [NEIGHBOUR, nextUp(NEIGHBOUR), 0.1, 0.30000000000000004, 0.3, null]
  const singles = [0.3, 0.1, 0.30000001, 1e-7, null]
  const amounts = [
    '12345678901234567890.0000000001',
    '12345678901234567890.0000000002',
    '12345678901234567890.0000000001',
    '-0.0000000001',
    null,
  ]
  const docs = ['{"a": 1}', '[1, 2]', '{"a": 1, "b": [true]}', '"text"', '{"a": 2}', null]
  const stamps = [
    '2024-05-01 10:00:00.123456',
    '2024-05-01 10:00:00.123457',
    '2024-05-01 10:00:00.123999',
    '2024-05-01 10:00:00.123456',
    null,
  ]
  for (let id = 1; id <= 42; id++) {
    const flag = id % 3 === 0 ? null : id % 2 === 0
    rows.push({
      id,
      mood: id % 7 === 0 ? null : MOODS[id % 3],
      simpleMood: id % 5 === 0 ? null : MOODS[(id + 1) % 3],
      single: singles[id % singles.length],
      double: doubles[id % doubles.length],
      amount: amounts[id % amounts.length],
      doc: docs[id % docs.length],
      flag: dialect === 'mariadb' ? (flag === null ? null : flag ? 1 : 0) : flag,
      at: stamps[id % stamps.length],
    })
  }
  return rows
}

const KEY_COLUMNS = ['mood', 'simpleMood', 'single', 'double', 'amount', 'doc', 'flag', 'at'] as const

/** Runs the iterator to the end, but fails instead of looping once it has yielded more than `max` entities. */
async function collectAtMost<T>(iterator: AsyncIterable<T[]>, max: number): Promise<T[]> {
  const out: T[] = []
  for await (const batch of iterator) {
    out.push(...batch)
    if (out.length > max) throw new Error(`yielded ${out.length} entities, more than the ${max} the query returns`)
  }
  return out
}

describe.each(dialects)('keyset sort keys on %s', (dialect) => {
  const db = useTestDatabase(dialect, { schema: false })
  const entities = keyEntities(dialect)
  const logger = new QueryCounter()
  let ds: DataSource

  beforeAll(async () => {
    ds = new DataSource({
      type: dialect === 'postgres' ? 'postgres' : 'mariadb',
      url: db.url,
      entities: Object.values(entities),
      synchronize: true,
      logger,
      logging: true,
    })
    await ds.initialize()
    await ds
      .getRepository(entities.KeyRow)
      .insert(
        keyRows(dialect).map((row) =>
          dialect === 'mariadb' && row.flag !== null ? { ...row, flag: Buffer.from([row.flag as number]) } : row,
        ),
      )
    const people = ds.getRepository(entities.Person)
    for (let id = 1; id <= 12; id++) {
      const Kind = id % 3 === 0 ? entities.Teacher : entities.Student
      await people.save(Object.assign(new Kind(), { id, name: `p${id % 4}` }))
    }
    await ds.getRepository(entities.Lesson).insert(
      Array.from({ length: 30 }, (_, i) => ({
        id: i + 1,
        student: i % 4 === 0 ? null : { id: (i % 12) + 1 },
        teacher: { id: ((i * 5) % 12) + 1 },
      })),
    )
    for (const Tree of [entities.Category, entities.Region]) {
      const repo = ds.getTreeRepository(Tree)
      const made: ObjectLiteral[] = []
      for (let id = 1; id <= 15; id++)
        made.push(
          await repo.save(
            Object.assign(new Tree(), { id, name: `n${id % 5}`, parent: id === 1 ? null : made[(id * 7) % (id - 1)] }),
          ),
        )
    }
    await ds.query(
      dialect === 'mariadb'
        ? 'ALTER TABLE key_drift MODIFY value DOUBLE NOT NULL'
        : 'ALTER TABLE key_drift ALTER COLUMN value TYPE double precision',
    )
    await ds.query(
      `INSERT INTO key_drift (id, value) VALUES ${Array.from({ length: 8 }, (_, i) => `(${i + 1}, ${i % 2 === 0 ? NEIGHBOUR : nextUp(NEIGHBOUR)})`).join(', ')}`,
    )
  })
  afterAll(async () => {
    await ds?.destroy()
  })
  beforeEach(() => {
    logger.queries = []
  })

  /** getMany() of the same query, and aiterator over it with each small chunk size: the same entities, in order, once each. */
  async function expectExact<E extends ObjectLiteral>(
    query: () => SelectQueryBuilder<E>,
    batchYieldSize = 4,
  ): Promise<number> {
    const expected = await query().getMany()
    for (const chunkSize of [1, 2, 3, 7]) {
      const got = await collectAtMost(
        aiterator(query(), { strategy: 'keyset', chunkSize, batchYieldSize }),
        expected.length,
      )
      expect(got, `chunkSize ${chunkSize}`).toStrictEqual(expected)
    }
    return expected.length
  }

  for (const column of KEY_COLUMNS) {
    for (const direction of ['ASC', 'DESC'] as const) {
      it(`${column} ${direction}`, async () => {
        const count = await expectExact(() =>
          ds
            .getRepository(entities.KeyRow)
            .createQueryBuilder('k')
            .orderBy(`k.${column}`, direction)
            .addOrderBy('k.id', direction),
        )
        expect(count).toBe(42)
      })
    }
  }

  it('mixed directions over an enum and a decimal held as a number', async () => {
    await expectExact(() =>
      ds
        .getRepository(entities.KeyRow)
        .createQueryBuilder('k')
        .orderBy('k.mood', 'DESC')
        .addOrderBy('k.amount', 'ASC')
        .addOrderBy('k.id', 'ASC'),
    )
  })

  it('resumes exactly after a key that a JS value could not hold (microseconds, decimal digits)', async () => {
    for (const column of ['amount', 'at', 'double'] as const) {
      const query = () =>
        ds
          .getRepository(entities.KeyRow)
          .createQueryBuilder('k')
          .orderBy(`k.${column}`, 'ASC')
          .addOrderBy('k.id', 'ASC')
      const expected = await query().getMany()
      const tokens: string[] = []
      const first: ObjectLiteral[] = []
      for await (const batch of aiterator(query(), {
        strategy: 'keyset',
        chunkSize: 2,
        batchYieldSize: 5,
        onProgress: (p) => tokens.push(p.cursor!),
      })) {
        first.push(...batch)
        if (first.length >= 20) break
      }
      const rest = await collectAtMost(
        aiterator(query(), { strategy: 'keyset', chunkSize: 3, batchYieldSize: 5, after: tokens.at(-1) }),
        expected.length,
      )
      expect([...first, ...rest], column).toStrictEqual(expected)
    }
  })

  describe('stored columns TypeORM maps to no property are keys like any other', () => {
    it('the single-table-inheritance discriminator', async () => {
      await expectExact(() =>
        ds
          .getRepository(entities.Person)
          .createQueryBuilder('p')
          .orderBy('p.kind', 'DESC')
          .addOrderBy('p.name', 'ASC')
          .addOrderBy('p.id', 'ASC'),
      )
    })

    it('implicit join columns, by database name and by relation', async () => {
      await expectExact(() =>
        ds
          .getRepository(entities.Lesson)
          .createQueryBuilder('l')
          .orderBy('l.studentId', 'ASC')
          .addOrderBy('l.id', 'ASC'),
      )
      await expectExact(() =>
        ds
          .getRepository(entities.Lesson)
          .createQueryBuilder('l')
          .orderBy('l.teacher', 'DESC')
          .addOrderBy('l.id', 'DESC'),
      )
      await expectExact(() =>
        ds
          .getRepository(entities.Lesson)
          .createQueryBuilder('l')
          .leftJoinAndSelect('l.student', 's')
          .orderBy('l.student', 'ASC')
          .addOrderBy('l.id', 'ASC'),
      )
    })

    it('tree columns (materialized path, nested set)', async () => {
      await expectExact(() =>
        ds.getRepository(entities.Category).createQueryBuilder('c').orderBy('c.mpath', 'ASC').addOrderBy('c.id', 'ASC'),
      )
      await expectExact(() =>
        ds
          .getRepository(entities.Region)
          .createQueryBuilder('r')
          .orderBy('r.nsleft', 'DESC')
          .addOrderBy('r.id', 'DESC'),
      )
    })
  })

  it('a schema that drifted from its entity (int declared, DOUBLE stored) stops with KeysetProgressError instead of looping', async () => {
    const query = () =>
      ds.getRepository(entities.Drift).createQueryBuilder('d').orderBy('d.value', 'ASC').addOrderBy('d.id', 'ASC')
    const run = collectAtMost(aiterator(query(), { strategy: 'keyset', chunkSize: 3, batchYieldSize: 1 }), 8)
    if (dialect === 'mariadb') {
      // mysql2 reads a DOUBLE with its own parser, one ulp off: the seek falls back into the previous chunk
      await expect(run).rejects.toThrow(KeysetProgressError)
      await expect(
        collectAtMost(aiterator(query(), { strategy: 'keyset', chunkSize: 3, batchYieldSize: 1 }), 8),
      ).rejects.toThrow(/did not advance on Drift ordered by value asc, id asc: chunk 2 returned the row/)
    } else {
      // PostgreSQL reads every key as text, whatever the entity declares: exact
      expect(await run).toStrictEqual(await query().getMany())
    }
  })

  if (dialect === 'postgres') {
    it('plain json has no ordering: keyset refuses it before any query, naming the column', () => {
      const query = () => ds.getRepository(entities.JsonRow).createQueryBuilder('j').orderBy('j.doc', 'ASC')
      expect(() => aiterator(query(), { strategy: 'keyset' })).toThrow(KeysetOrderingError)
      expect(() => aiterator(query(), { strategy: 'keyset' })).toThrow(
        /ORDER BY JsonRow\.doc \(doc, json\): json has no ordering on PostgreSQL \(jsonb has one\).*or use strategy 'cursor'/,
      )
      expect(logger.queries).toEqual([])
    })

    describe('distinctOn', () => {
      it('yields exactly the distinct rows of getMany(), seeking past whole groups', async () => {
        const query = () =>
          ds
            .getRepository(entities.Person)
            .createQueryBuilder('p')
            .distinctOn(['p.name'])
            .orderBy('p.name', 'ASC')
            .addOrderBy('p.id', 'DESC')
        const count = await expectExact(query, 1)
        expect(count).toBe(4)
        await expectExact(
          () =>
            ds
              .getRepository(entities.Lesson)
              .createQueryBuilder('l')
              .distinctOn(['l.teacher', 'l.studentId'])
              .orderBy('l.studentId', 'DESC')
              .addOrderBy('l.teacher', 'ASC')
              .addOrderBy('l.id', 'ASC'),
          2,
        )
      })

      it('with an ORDER BY that does not start with the DISTINCT ON columns, keyset refuses and says why', () => {
        const query = ds
          .getRepository(entities.Person)
          .createQueryBuilder('p')
          .distinctOn(['p.name'])
          .orderBy('p.id', 'ASC')
        expect(() => aiterator(query, { strategy: 'keyset' })).toThrow(
          /distinctOn\(\[p\.name\]\) must be the leading ORDER BY terms/,
        )
      })
    })
  }
})
