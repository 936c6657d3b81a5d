import { MikroORM } from '@mikro-orm/postgresql'
import { EventEntity } from '../entities/mikro-orm-event.ts'

/** An initialized MikroORM on the bench database, with the `events` entity only. */
export async function openMikroOrm(url: string): Promise<MikroORM> {
  const orm = await MikroORM.init({ clientUrl: url, entities: [EventEntity], debug: false, pool: { min: 1, max: 2 } })
  // Before timing: open the pool's connection and load one entity, so the first query's one-off costs
  // (connecting, compiling MikroORM's query and hydration code) are charged to no mode.
  await orm.em.fork().find(EventEntity, {}, { orderBy: { id: 'asc' }, limit: 1 })
  return orm
}
