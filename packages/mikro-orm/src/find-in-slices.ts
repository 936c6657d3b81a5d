import { type EntityManager, type EntityName, QueryHelper, Utils } from '@mikro-orm/core'
import { entityCreator } from './entity-creator.js'
import { assertCreatedFrom, dispatchOnLoad, findSteps, keepsBound, setSerializationContext } from './internals.js'

/**
 * Entities created between two turns of the event loop: few enough that a slow consumer's timers wait
 * only briefly for a read-ahead (larger slices made its timers run late; bench/results/history.md).
 */
export const SLICE_ROWS = 50

/**
 * `fork.find(entityName, where, options)` for a chunk, with one difference: the entities are
 * created `SLICE_ROWS` at a time, with a turn of the event loop in between.
 *
 * Why: `em.find` of a whole chunk creates all its managed entities in one block of synchronous
 * JavaScript. During a read-ahead that block lands while the caller is
 * working on the previous batch, and holds up its timers and I/O until it ends: the fetch and the
 * caller's work then take turns instead of overlapping. In slices, they interleave.
 *
 * It runs the same steps `em.find` runs for a query that populates nothing (options, filters,
 * the driver's query, `EntityFactory.create` with em.find's options (see {@link entityCreator}), the
 * serialization context, `onLoad` events), so the result is the same managed entities in the fork's
 * identity map, with the same change-tracking snapshot. Anything else (populate, eager relations,
 * cache, unionWhere, a fork that is not fresh) goes through `em.find` itself.
 */
export async function findInSlices(
  fork: EntityManager,
  entityName: EntityName<object>,
  where: object,
  options: Record<string, unknown>,
): Promise<object[]> {
  const plain = await planPlainFind(fork, entityName, where, options)
  if (plain === undefined) return fork.find(entityName, where, options)
  const rows = await fork
    .getDriver()
    .find(entityName, plain.condition, { ctx: fork.getTransactionContext(), em: fork, ...plain.query } as never)
  return createInSlices(fork, plain, rows)
}

/** What {@link planPlainFind} prepared: the condition and options `em.find` hands the driver. */
export interface PlainFind {
  readonly entityName: EntityName<object>
  /** `where` with filters applied, as em.find passes it to `driver.find`. */
  readonly condition: object
  /** The driver's find options as em.find builds them (populate empty). */
  readonly query: Readonly<Record<string, unknown>>
}

/**
 * The first half of `em.find(entityName, where, options)` for a plain read (see {@link findInSlices}):
 * undefined when em.find would do more than one query and `EntityFactory.create` per row.
 */
export async function planPlainFind(
  fork: EntityManager,
  entityName: EntityName<object>,
  where: object,
  options: Record<string, unknown>,
): Promise<PlainFind | undefined> {
  const em = findSteps(fork)
  const meta = fork.getMetadata(entityName)
  if (em === undefined || !eligible(fork, meta, options)) return undefined
  const prepared = em.prepareOptions({ ...options })
  if (!keepsBound(prepared, options)) return undefined
  const populate = await em.preparePopulate(entityName, prepared as object)
  if (populate.length > 0) return undefined // eager relations or populated lazy properties

  const condition = await em.processWhere(entityName, where, prepared, 'read')
  const orderBy = meta.orderBy
    ? QueryHelper.mergeOrderBy(prepared.orderBy as never, meta.orderBy)
    : (prepared.orderBy ?? {})
  const query: Record<string, unknown> = { ...prepared, orderBy, populate }
  query._populateWhere = query.populateWhere ?? fork.config.get('populateWhere')
  query.populateWhere = em.createPopulateWhere({ ...condition }, query)
  query.populateFilter = await em.getJoinedFilters(meta, query)
  return { entityName, condition, query }
}

/**
 * The second half: the managed entities of `rows` (the driver's mapped results) in `fork`, as
 * em.find creates them, `SLICE_ROWS` at a time with a turn of the event loop in between.
 */
export async function createInSlices(
  fork: EntityManager,
  plain: PlainFind,
  rows: readonly object[],
): Promise<object[]> {
  const create = entityCreator(fork, plain.entityName, {
    refresh: plain.query.refresh as boolean | undefined,
    schema: plain.query.schema as string | undefined,
  })
  const entities: object[] = []
  for (let start = 0; start < rows.length; start += SLICE_ROWS) {
    if (start > 0) await nextTurn()
    const end = Math.min(rows.length, start + SLICE_ROWS)
    for (let i = start; i < end; i++) entities.push(create(rows[i]!))
  }
  assertCreatedFrom(fork, rows, entities)
  const unique = Utils.unique(entities)
  // em.find's populate step, which for a plain read only sets each entity's serialization context
  // (EntityLoader.setSerializationContext): fields '*' unless `fields` is given. A later partial load
  // of the entity (`fields`) adds to that set; without it the set would hold only the later fields.
  const context = { populate: plain.query.populate, fields: plain.query.fields, exclude: plain.query.exclude }
  for (const entity of unique) setSerializationContext(entity, context)
  await dispatchOnLoad(fork)
  return unique
}

/** Only what em.find does plainly: no cache, no union branches, no index check, no virtual entity, a fork with nothing loaded. */
function eligible(fork: EntityManager, meta: { virtual?: boolean }, options: Record<string, unknown>): boolean {
  return (
    meta.virtual !== true &&
    options.cache === undefined &&
    options.unionWhere === undefined &&
    options.using === undefined &&
    options.disableIdentityMap !== true &&
    !fork.config.get('disableIdentityMap') &&
    fork.getUnitOfWork().getIdentityMap().values().length === 0 && // so em.find would have nothing to auto-flush first
    fork.getUnitOfWork().getPersistStack().size === 0
  )
}

/** One turn of the event loop (I/O callbacks included). */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}
