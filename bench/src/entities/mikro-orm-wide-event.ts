import { defineEntity, p } from '@mikro-orm/core'

/**
 * The `wide_events` entity (`npm run bench:wide`) for MikroORM, defined with `defineEntity` (no decorators,
 * so it runs under Node's type stripping): a small key and one wide text column.
 *
 * @example
 * const orm = await MikroORM.init({ clientUrl: url, entities: [WideEventEntity] })
 * for await (const batch of orm.em.fork().aiterator(WideEventEntity, { batchYieldSize: 10 })) …
 */
export const WideEventEntity = defineEntity({
  name: 'WideEvent',
  tableName: 'wide_events',
  properties: {
    id: p.integer().primary(),
    payload: p.text(),
  },
})
