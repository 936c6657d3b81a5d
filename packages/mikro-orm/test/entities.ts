/**
 * The shared fixture schema (test-fixtures/) mapped with MikroORM 7's `defineEntity`.
 *
 * Why `defineEntity` and not decorators: vitest transforms TypeScript with oxc, which neither
 * emits decorator metadata nor runs the legacy decorator transform MikroORM's decorators expect,
 * so decorated entities need extra build plumbing in tests. `defineEntity` is plain code, gives
 * exact inferred types, and the `.class` + `setClass` pattern still yields real classes, so
 * `Loaded<Book, 'author'>` reads the way users write it. MikroORM 6.5 and 6.6 (the version matrix,
 * vitest.config.ts) have `defineEntity` without `.class`: {@link classOf} stands in there.
 */
import { defineEntity, p } from '@mikro-orm/core'

/**
 * The class to extend for `schema`'s entity: `schema.class` (MikroORM 7), else the class it `extends`
 * or a plain one (MikroORM 6, whose `setClass` takes any class).
 */
export function classOf<Class>(schema: { readonly class: Class; readonly meta: object }): Class {
  const { extends: base } = schema.meta as { extends?: unknown }
  return (schema as { class?: Class }).class ?? ((typeof base === 'function' ? base : class {}) as Class)
}

const AuthorSchema = defineEntity({
  name: 'Author',
  tableName: 'authors',
  properties: {
    id: p.integer().primary().autoincrement(),
    name: p.text(),
    email: p.string().length(255).unique(),
    createdAt: p.datetime(),
    books: () => p.oneToMany(Book).mappedBy('author'),
  },
})
export class Author extends classOf(AuthorSchema) {}
AuthorSchema.setClass(Author)

// Tag has an entity-level default ordering, which em.find (and so aiterator) sorts by.
const TagSchema = defineEntity({
  name: 'Tag',
  tableName: 'tags',
  orderBy: { name: 'desc' },
  properties: {
    id: p.integer().primary().autoincrement(),
    name: p.string().length(100).unique(),
  },
})
export class Tag extends classOf(TagSchema) {}
TagSchema.setClass(Tag)

const BookSchema = defineEntity({
  name: 'Book',
  tableName: 'books',
  properties: {
    id: p.integer().primary().autoincrement(),
    author: () => p.manyToOne(Author).fieldName('author_id'),
    title: p.text(),
    publishedAt: p.datetime().nullable(),
    price: p.decimal('string').precision(10).scale(2),
    rating: p.integer(),
    tags: () => p.manyToMany(Tag).pivotTable('book_tags').joinColumn('book_id').inverseJoinColumn('tag_id').owner(),
  },
})
export class Book extends classOf(BookSchema) {}
BookSchema.setClass(Book)

const OrderLineSchema = defineEntity({
  name: 'OrderLine',
  tableName: 'order_lines',
  properties: {
    orderId: p.integer().primary(),
    lineNo: p.integer().primary(),
    sku: p.string().length(64),
    quantity: p.integer(),
  },
})
export class OrderLine extends classOf(OrderLineSchema) {}
OrderLineSchema.setClass(OrderLine)

const DeviceSchema = defineEntity({
  name: 'Device',
  tableName: 'devices',
  properties: {
    id: p.uuid().primary(),
    label: p.string().length(200),
    registeredAt: p.datetime().nullable(),
  },
})
export class Device extends classOf(DeviceSchema) {}
DeviceSchema.setClass(Device)

const CountrySchema = defineEntity({
  name: 'Country',
  tableName: 'countries',
  properties: {
    code: p.string().length(64).primary(),
    name: p.string().length(200),
    population: p.bigint('bigint'),
  },
})
export class Country extends classOf(CountrySchema) {}
CountrySchema.setClass(Country)

export const entities = [AuthorSchema, TagSchema, BookSchema, OrderLineSchema, DeviceSchema, CountrySchema]

// The wide `events` table (seeded on demand with seedEvents): JSON, bigint and decimal as strings,
// uuid, timestamptz, boolean. Not in `entities`: only PostgreSQL tests map it.
export const EventSchema = defineEntity({
  name: 'Event',
  tableName: 'events',
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    occurredAt: p.datetime().fieldName('occurred_at').columnType('timestamptz'),
    kind: p.string().length(32),
    userId: p.integer().fieldName('user_id'),
    sessionId: p.uuid().fieldName('session_id'),
    source: p.string().length(32),
    country: p.string().length(8),
    amount: p.decimal('string').precision(12).scale(2),
    quantity: p.integer(),
    isTest: p.boolean().fieldName('is_test'),
    tags: p.text(),
    payload: p.json<Record<string, unknown>>().columnType('jsonb'),
  },
})
export class Event extends classOf(EventSchema) {}
EventSchema.setClass(Event)

// Relation shapes the fixture schema lacks, on tables of their own (made with `orm.schema.create()` by the
// files that use them): MikroORM's test models `FooBar`/`FooBaz` (an inverse one-to-one), `Sandwich`
// (scalars only), a self-referencing `Category`, and a single-table hierarchy `Animal`/`Dog`/`Cat`.
export const FooBazSchema = defineEntity({
  name: 'FooBaz',
  tableName: 'foo_baz',
  properties: {
    id: p.integer().primary().autoincrement(),
    name: p.string().length(100),
    bar: () => p.oneToOne(FooBar).mappedBy('baz').nullable(),
  },
})
export class FooBaz extends classOf(FooBazSchema) {}
FooBazSchema.setClass(FooBaz)

export const FooBarSchema = defineEntity({
  name: 'FooBar',
  tableName: 'foo_bar',
  properties: {
    id: p.integer().primary().autoincrement(),
    name: p.string().length(100),
    baz: () => p.oneToOne(FooBaz).owner().nullable(),
  },
})
export class FooBar extends classOf(FooBarSchema) {}
FooBarSchema.setClass(FooBar)

export const SandwichSchema = defineEntity({
  name: 'Sandwich',
  tableName: 'sandwiches',
  properties: {
    id: p.integer().primary().autoincrement(),
    name: p.string().length(100),
    price: p.integer(),
  },
})
export class Sandwich extends classOf(SandwichSchema) {}
SandwichSchema.setClass(Sandwich)

export const CategorySchema = defineEntity({
  name: 'Category',
  tableName: 'categories',
  properties: {
    id: p.integer().primary().autoincrement(),
    name: p.string().length(100),
    parent: () => p.manyToOne(Category).nullable(),
  },
})
export class Category extends classOf(CategorySchema) {}
CategorySchema.setClass(Category)

export const AnimalSchema = defineEntity({
  name: 'Animal',
  tableName: 'animals',
  discriminatorColumn: 'type',
  properties: {
    id: p.integer().primary().autoincrement(),
    type: p.string().length(16),
    name: p.string().length(100),
    mother: () => p.manyToOne(Animal).nullable(),
  },
})
export class Animal extends classOf(AnimalSchema) {}
AnimalSchema.setClass(Animal)

export const DogSchema = defineEntity({
  name: 'Dog',
  extends: Animal,
  discriminatorValue: 'dog',
  properties: {
    barks: p.boolean().nullable(),
  },
})
export class Dog extends classOf(DogSchema) {}
DogSchema.setClass(Dog)

export const CatSchema = defineEntity({
  name: 'Cat',
  extends: Animal,
  discriminatorValue: 'cat',
  properties: {
    lives: p.integer().nullable(),
  },
})
export class Cat extends classOf(CatSchema) {}
CatSchema.setClass(Cat)
