import { MikroORM } from '@mikro-orm/postgresql'
import { EventEntity } from '../entities/mikro-orm-event.ts'

/** An initialized MikroORM on the bench database, with the `events` entity only. */
export async function openMikroOrm(url: string): Promise<MikroORM> {
  const orm = await MikroORM.init({ clientUrl: url, entities: [EventEntity], debug: false, pool: { min: 1, max: 2 } })
  // One query before timing, so the pool's first connection is not charged to the job.
  await orm.em.fork().getConnection().execute('SELECT 1')
  return orm
}
