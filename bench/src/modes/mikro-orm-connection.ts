import { MikroORM } from '@mikro-orm/postgresql'
import { EventEntity } from '../entities/mikro-orm-event.ts'
import type { BenchPoolOptions } from './mode.ts'

/** An initialized MikroORM on the bench database, with the `events` entity only. */
export async function openMikroOrm(url: string, pool: BenchPoolOptions = {}): Promise<MikroORM> {
  const orm = await MikroORM.init({
    clientUrl: url,
    entities: [EventEntity],
    debug: false,
    pool: { min: 1, max: pool.max ?? 2 },
    // Merged into the options of the `pg.Pool` MikroORM creates.
    ...(pool.applicationName === undefined ? {} : { driverOptions: { application_name: pool.applicationName } }),
  })
  // Before timing: open the pool's connection and load one entity, so the first query's one-off costs
  // (connecting, compiling MikroORM's query and hydration code) are charged to no mode.
  await orm.em.fork().find(EventEntity, {}, { orderBy: { id: 'asc' }, limit: 1 })
  return orm
}
