/**
 * Entity parity, shared by dialects: for plain reads (nothing populated), every entity aiterator
 * yields is what `em.find` makes of the same row, entity by entity: property values, relation
 * references (an inverse one-to-one included), `toObject()`, loaded properties, the change-tracking
 * snapshot and the serialization context, also after a later partial load (`fields`) of the entity
 * in its own EntityManager. For each strategy, with and without read-ahead, on both creation paths:
 * the fast entity creator and `EntityFactory.create` (the fallback; MikroORM with
 * `propagationOnPrototype: false`, which the creator leaves to the factory).
 */
import type { Dialect } from '@batchyield/test-fixtures'
import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
import { type EntityManager, type EntityName, helper, wrap } from '@mikro-orm/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { aiterator, entityManagerOf } from '../../src/index.js'
import { FooBar, FooBarSchema, FooBaz, FooBazSchema, Sandwich, SandwichSchema } from '../entities.js'
import { describeEntity, openOrm, type TestOrm } from '../support.js'

interface Case {
  readonly name: string
  readonly entity: EntityName<object>
  readonly options: { exclude?: readonly string[] }
  /** A property `toObject()` must keep after the partial load of `name` (it was loaded by the run). */
  readonly kept: string
}

const cases: readonly Case[] = [
  // the inverse side of a one-to-one: em.find joins the owner's table for its key (b1__id) and maps it to `bar`
  { name: 'inverse one-to-one (FooBaz.bar), some rows without an owner', entity: FooBaz, options: {}, kept: 'bar' },
  { name: 'owning one-to-one (FooBar.baz)', entity: FooBar, options: {}, kept: 'baz' },
  { name: 'scalars only (Sandwich)', entity: Sandwich, options: {}, kept: 'price' },
  { name: 'scalars only, with exclude', entity: Sandwich, options: { exclude: ['price'] }, kept: 'id' },
]

export function defineEntityParitySuite(dialect: Dialect): void {
  const db = useTestDatabase(dialect, { schema: false })
  const schemas = [FooBarSchema, FooBazSchema, SandwichSchema]
  let fast: TestOrm
  let factory: TestOrm
  beforeAll(async () => {
    fast = openOrm(dialect, db.url, { entities: schemas })
    factory = openOrm(dialect, db.url, { entities: schemas, propagationOnPrototype: false })
    await fast.orm.schema.create()
    const em = fast.em.fork()
    // 8 bazes, owners for the even ones; chunks of 3 put owned and unowned rows in every chunk
    for (let i = 1; i <= 8; i++) {
      const baz = em.create(FooBaz, { name: `baz ${i}` })
      if (i % 2 === 0) em.create(FooBar, { name: `bar of baz ${i}`, baz })
      em.create(Sandwich, { name: `sandwich ${i}`, price: 100 * i })
    }
    em.create(FooBar, { name: 'bar without baz' })
    await em.flush()
  })
  afterAll(async () => {
    await fast?.close()
    await factory?.close()
  })

  const strategies = dialect === 'postgres' ? (['keyset', 'cursor'] as const) : (['keyset'] as const)
  const paths = [
    ['the fast entity creator', () => fast, true],
    ['EntityFactory.create (the fallback)', () => factory, false],
  ] as const

  for (const [path, orm, sharedAccessors] of paths) {
    describe(path, () => {
      for (const strategy of strategies) {
        for (const prefetch of [0, 1]) {
          for (const c of cases) {
            const load = async () => {
              const { em } = orm()
              const expected = await em
                .fork({ clear: true })
                .find(c.entity, {}, { ...c.options, orderBy: { id: 'asc' } } as never)
              const actual: object[] = []
              for await (const entity of aiterator(em, c.entity, {
                ...c.options,
                strategy,
                prefetch,
                chunkSize: 3,
              } as never))
                actual.push(entity as object)
              expect(actual.length).toBeGreaterThan(3)
              expect(actual.map(pkOf)).toEqual(expected.map(pkOf))
              // the path this describe block names is the one that created them
              expect(ownAccessorShared(actual[0]!, actual[1]!, 'name')).toBe(sharedAccessors)
              return { expected, actual }
            }

            it(`${c.name}, strategy '${strategy}', prefetch ${prefetch}: each entity is em.find's (values, references, toObject, loaded properties, snapshot)`, async () => {
              const { expected, actual } = await load()
              expect(actual.map(portrait)).toEqual(expected.map(portrait))
            })

            it(`${c.name}, strategy '${strategy}', prefetch ${prefetch}: a later partial load (fields) in the entity's own EntityManager keeps toObject() as em.find's`, async () => {
              const { expected, actual } = await load()
              const reloaded = async (entities: object[], emOf: (entity: object) => EntityManager) => {
                for (const entity of entities)
                  await emOf(entity).find(c.entity, { id: (entity as { id: number }).id }, {
                    fields: ['name'],
                  } as never)
                return entities.map((entity) => wrap(entity).toObject())
              }
              const expectedAfter = await reloaded(expected, (entity) => helper(entity).__em as EntityManager)
              expect(expectedAfter.every((object) => c.kept in object)).toBe(true)
              expect(await reloaded(actual, entityManagerOf)).toEqual(expectedAfter)
            })
          }
        }
      }
    })
  }

  it('the fixture has what the cases rely on: inverse one-to-ones with and without an owner, in every chunk of 3', async () => {
    const bazes = await fast.em.fork().find(FooBaz, {}, { orderBy: { id: 'asc' } })
    const owned = bazes.map((baz) => baz.bar != null)
    for (let start = 0; start < owned.length; start += 3) expect(new Set(owned.slice(start, start + 2)).size).toBe(2)
  })
}

/** What em.find decides about an entity (see describeEntity), its to-one relations as references, its serialization context. */
function portrait(entity: object) {
  const meta = helper(entity).__meta
  const toOne = meta.relations.filter((prop) => prop.kind === 'm:1' || prop.kind === '1:1')
  return {
    ...describeEntity(entity),
    relations: Object.fromEntries(
      toOne.map((prop) => [prop.name, reference(entity, (entity as Record<string, unknown>)[prop.name])]),
    ),
    serialization: serialization(entity),
  }
}

function reference(owner: object, value: unknown) {
  if (value === null || value === undefined) return value
  const related = helper(value as object)
  return {
    class: (value as object).constructor.name,
    key: related.getPrimaryKey(),
    initialized: related.isInitialized(),
    sameEntityManager: related.__em === helper(owner).__em,
  }
}

function serialization(entity: object) {
  const context = helper(entity).__serializationContext
  return {
    populate: context.populate,
    fields: context.fields === undefined ? undefined : [...context.fields],
    exclude: context.exclude,
  }
}

function pkOf(entity: object): unknown {
  return helper(entity).getPrimaryKey()
}

/** True when two entities share the accessor functions of `property` (the fast creator's; MikroORM defines them per instance). */
function ownAccessorShared(a: object, b: object, property: string): boolean {
  const getter = Object.getOwnPropertyDescriptor(a, property)?.get
  return getter !== undefined && getter === Object.getOwnPropertyDescriptor(b, property)?.get
}
