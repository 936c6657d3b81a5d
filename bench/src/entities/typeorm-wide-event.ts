import { EntitySchema } from 'typeorm'

/** One row of `wide_events` (`npm run bench:wide`): a small key and one wide text column. */
export interface WideEvent {
  id: number
  /** `md5(id)` repeated to the table's row width (1 MiB by default). */
  payload: string
}

/**
 * The `wide_events` entity as a TypeORM `EntitySchema` (no decorators, so it runs under Node's type stripping).
 *
 * @example
 * const dataSource = new DataSource({ type: 'postgres', url, entities: [WideEventSchema] })
 * for await (const batch of dataSource.getRepository(WideEventSchema).createQueryBuilder('w').orderBy('w.id').aiterator({ batchYieldSize: 10 })) …
 */
export const WideEventSchema = new EntitySchema<WideEvent>({
  name: 'WideEvent',
  tableName: 'wide_events',
  columns: {
    id: { type: 'int', primary: true },
    payload: { type: 'text' },
  },
})
