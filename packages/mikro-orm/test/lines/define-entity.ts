/**
 * `@mikro-orm/core` for the tests of the MikroORM 6.4 project of the version matrix (vitest.config.ts):
 * 6.4 has no `defineEntity` and `p` (6.5 added them), which the tests' entities are written with. This is
 * 6.4's core with both added as 6.5 defines them: each property builder call sets the EntitySchema
 * property option of its name (no arguments: `true`), and `defineEntity` makes an EntitySchema of those
 * options, a property given as a function read when MikroORM first asks for it. Only the tests see it:
 * the adapter's source imports 6.4's own core.
 */
import { EntitySchema, types } from '@mikro-orm/core'

export * from '@mikro-orm/core'

type Options = Record<string, unknown>

/** 6.5's property options builder: every method returns a new builder with one more option. */
class PropertyBuilder {
  readonly '~options': Options

  constructor(options: Options) {
    this['~options'] = options
  }

  private with(options: Options): PropertyBuilder {
    return new PropertyBuilder({ ...this['~options'], ...options })
  }

  fieldName = (fieldName: string) => this.with({ fieldName })
  columnType = (columnType: string) => this.with({ columnType })
  length = (length: number) => this.with({ length })
  precision = (precision: number) => this.with({ precision })
  scale = (scale: number) => this.with({ scale })
  autoincrement = (autoincrement = true) => this.with({ autoincrement })
  nullable = (nullable = true) => this.with({ nullable })
  unique = (unique: boolean | string = true) => this.with({ unique })
  primary = (primary = true) => this.with({ primary })
  // as 6.5's: a lazy property is a reference too
  lazy = (lazy = true, ref = true) => this.with({ lazy, ref })
  nativeEnumName = (nativeEnumName: string) => this.with({ nativeEnumName })
  owner = (owner = true) => this.with({ owner })
  mappedBy = (mappedBy: string) => this.with({ mappedBy })
  pivotTable = (pivotTable: string) => this.with({ pivotTable })
  joinColumn = (joinColumn: string) => this.with({ joinColumn })
  inverseJoinColumn = (inverseJoinColumn: string) => this.with({ inverseJoinColumn })
}

const build = (options: Options) => new PropertyBuilder(options)
const relation = (kind: string) => (target: unknown) => build({ entity: () => target, kind })

/** 6.5's `p`: a builder per MikroORM type, the parametrised types and the relations. */
export const p = {
  ...Object.fromEntries(Object.entries(types).map(([name, type]) => [name, () => build({ type })])),
  bigint: (mode?: 'bigint' | 'number' | 'string') => build({ type: new types.bigint(mode) }),
  array: (toJsValue = (i: string) => i, toDbValue = (i: string) => i) =>
    build({ type: new types.array(toJsValue, toDbValue) }),
  decimal: (mode?: 'number' | 'string') => build({ type: new types.decimal(mode) }),
  json: () => build({ type: types.json }),
  datetime: (length?: number) => build({ type: types.datetime, length }),
  time: (length?: number) => build({ type: types.time, length }),
  type: (type: unknown) => build({ type }),
  enum: (items: unknown) => build({ enum: true, items }),
  manyToMany: relation('m:n'),
  manyToOne: relation('m:1'),
  oneToMany: relation('1:m'),
  oneToOne: relation('1:1'),
} as Record<string, (...args: never[]) => PropertyBuilder>

const optionsOf = (builder: unknown): Options =>
  builder instanceof PropertyBuilder ? builder['~options'] : (builder as Options)

/** 6.5's `defineEntity`: an EntitySchema whose function-valued properties are built at first read. */
export function defineEntity(meta: { properties: Record<string, unknown> } & Record<string, unknown>): EntitySchema {
  const { properties: given, ...options } = meta
  const properties: Options = {}
  const values = new Map<string, unknown>()
  for (const [key, builder] of Object.entries(given)) {
    if (typeof builder !== 'function') {
      Object.defineProperty(properties, key, { value: optionsOf(builder), writable: true, enumerable: true })
      continue
    }
    Object.defineProperty(properties, key, {
      get: () => {
        if (!values.has(key)) values.set(key, optionsOf((builder as () => unknown)()))
        return values.get(key)
      },
      set: (value: unknown) => {
        values.set(key, value)
      },
      enumerable: true,
    })
  }
  return new EntitySchema({ properties, ...options } as never)
}
