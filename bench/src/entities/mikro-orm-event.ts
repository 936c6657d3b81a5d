import { defineEntity, p } from '@mikro-orm/core'

/**
 * The `events` entity for MikroORM, defined with `defineEntity` (no decorators, so it runs under Node's type
 * stripping). Property types mirror the TypeORM entity: bigint id and numeric amount as exact strings.
 *
 * @example
 * const orm = await MikroORM.init({ clientUrl: url, entities: [EventEntity] })
 * const events = await orm.em.fork().find(EventEntity, {}, { limit: 10 })
 */
export const EventEntity = defineEntity({
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

export type MikroEvent = InstanceType<typeof EventEntity.class>
