import { defineEntity, p } from '@mikro-orm/core'
import { Column, Entity, PrimaryColumn } from 'typeorm'

/** The fixture table `events` (the columns the job reads), mapped with TypeORM decorators as Nest projects do. */
@Entity({ name: 'events' })
export class Event {
  /** bigint: the driver returns it as a string, which keeps every value exact. */
  @PrimaryColumn({ type: 'bigint' })
  id!: string

  @Column({ name: 'occurred_at', type: 'timestamptz' })
  occurredAt!: Date

  @Column({ type: 'varchar', length: 32 })
  kind!: string

  @Column({ type: 'varchar', length: 8 })
  country!: string

  @Column({ type: 'numeric', precision: 12, scale: 2 })
  amount!: string

  @Column({ name: 'is_test', type: 'boolean' })
  isTest!: boolean
}

/** The same table for MikroORM 7 (`defineEntity`: plain code, exact inferred types). */
export const EventEntity = defineEntity({
  name: 'Event',
  tableName: 'events',
  properties: {
    id: p.bigint('string').primary(),
    occurredAt: p.datetime().fieldName('occurred_at').columnType('timestamptz'),
    kind: p.string().length(32),
    country: p.string().length(8),
    amount: p.decimal('string').precision(12).scale(2),
    isTest: p.boolean().fieldName('is_test'),
  },
})
