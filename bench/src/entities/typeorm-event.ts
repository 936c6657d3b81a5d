import { EntitySchema } from 'typeorm'

/** One row of the wide fixture table `events`, as TypeORM hydrates it. */
export interface Event {
  /** bigint: the driver returns it as a string, which keeps every value exact. */
  id: string
  occurredAt: Date
  kind: string
  userId: number
  sessionId: string
  source: string
  country: string
  /** numeric(12,2) as the driver returns it: an exact decimal string. */
  amount: string
  quantity: number
  isTest: boolean
  tags: string
  payload: Record<string, unknown>
}

/**
 * The `events` entity as a TypeORM `EntitySchema` (no decorators, so it runs under Node's type stripping).
 *
 * @example
 * const dataSource = new DataSource({ type: 'postgres', url, entities: [EventSchema] })
 * const events = await dataSource.getRepository(EventSchema).find({ take: 10 })
 */
export const EventSchema = new EntitySchema<Event>({
  name: 'Event',
  tableName: 'events',
  columns: {
    id: { type: 'bigint', primary: true, generated: 'increment' },
    occurredAt: { type: 'timestamptz', name: 'occurred_at' },
    kind: { type: 'varchar', length: 32 },
    userId: { type: 'int', name: 'user_id' },
    sessionId: { type: 'uuid', name: 'session_id' },
    source: { type: 'varchar', length: 32 },
    country: { type: 'varchar', length: 8 },
    amount: { type: 'numeric', precision: 12, scale: 2 },
    quantity: { type: 'int' },
    isTest: { type: 'boolean', name: 'is_test' },
    tags: { type: 'text' },
    payload: { type: 'jsonb' },
  },
})
