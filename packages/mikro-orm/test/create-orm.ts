import { MikroORM, type Options } from '@mikro-orm/core'

// Kept apart from support.ts, which imports the PostgreSQL and MariaDB drivers: a version-matrix project
// with only a SQLite driver installed (vitest.config.ts) imports this alone.

/** A MikroORM instance, initialised synchronously: `new MikroORM` from 7.0, `MikroORM.initSync` on 6 (the version matrix). */
export function createOrm(options: Partial<Options>): MikroORM {
  const sync = (MikroORM as { initSync?: (options: Partial<Options>) => MikroORM }).initSync
  return sync === undefined ? new MikroORM(options) : sync.call(MikroORM, options)
}

/** Creates the tables of `orm`'s entities: `orm.schema.create()` from 7.0, `createSchema()` on 6. */
export async function createSchema(orm: MikroORM): Promise<void> {
  const schema = orm.schema as unknown as { create?: () => Promise<void>; createSchema?: () => Promise<void> }
  if (typeof schema.create === 'function') await schema.create()
  else await schema.createSchema!()
}
