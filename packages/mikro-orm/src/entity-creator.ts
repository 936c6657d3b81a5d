import { type EntityData, EntityHelper, ObjectHydrator, type EntityManager, type EntityMetadata, type EntityName, EventType, helper, ReferenceKind, Utils } from '@mikro-orm/core'

/**
 * The MikroORM releases whose `EntityFactory.create` the creator was written against and tested
 * with (it calls MikroORM internals in that method's order). Other releases use
 * `EntityFactory.create` itself until they are tested.
 */
export const TESTED_MIKRO_ORM = /^7\.2\./

/** The options em.find creates its entities with (`merge`, `convertCustomTypes`), plus its `refresh` and `schema`. */
export interface CreateOptions {
  readonly refresh?: boolean
  readonly schema?: string
}

/**
 * Creates managed entities from rows em.find loaded (the driver's mapped results), in `fork`:
 * `fork.getEntityFactory().create(entityName, row, { merge: true, convertCustomTypes: true, ... })`,
 * with the same result and two steps done in a cheaper way.
 *
 * Why: for a scalar property, MikroORM's entity prototype has a setter that, on an instance's
 * first assignment, defines the instance's own accessor pair (two new closures and a
 * `defineProperty`) routing the value to the entity's data. Loading an entity assigns every
 * property once, so that setter is the largest single cost of creating an entity (about a quarter
 * of it, plus the garbage of its closures). Here the same accessors (same attributes, same behaviour, functions
 * shared per property) are defined before MikroORM's hydrator runs, so its assignments land in
 * them directly. The second: `EntityFactory.create` registers each entity with the unit of work
 * twice (before and after hydration), hashing its primary key each time, after `findEntity` hashed
 * it once already; here the identity map slot is hashed once, and the second registration is only
 * its remaining effect, the change-tracking snapshot (all of it when `onLoad` listeners need the
 * loaded-entity list). Together about a fifth of the creation time. Every other step is MikroORM's
 * own, in `EntityFactory.create`'s order: the reference hydration of the primary key, identity map
 * registration, relation propagation setup, the hydrator, loaded properties, the snapshot, `onInit` events.
 *
 * Rows it does not take (an entity already in the identity map) and entities it does not know
 * how to create exactly (inheritance, embeddables, custom accessors, a collection declared before
 * a scalar, virtual entities, a forced constructor, `propagationOnPrototype: false`, ...) go to
 * `EntityFactory.create` itself, as does every entity on a MikroORM release other than
 * {@link TESTED_MIKRO_ORM}. The test `entity-creator.postgres.test.ts` holds both to the
 * same result, entity by entity.
 */
export function entityCreator(fork: EntityManager, entityName: EntityName<object>, options: CreateOptions): (row: object) => object {
  const factory = fork.getEntityFactory()
  const meta = fork.getMetadata(entityName) as EntityMetadata<object>
  const createOptions = { merge: true, refresh: options.refresh, schema: options.schema, convertCustomTypes: true }
  const viaFactory = (row: object): object => factory.create(entityName, row as EntityData<object>, { ...createOptions })
  const accessors = propertyAccessors(meta, fork)
  if (accessors === undefined) return viaFactory

  const hydrator = fork.config.getHydrator(fork.getMetadata()) as unknown as Hydrator
  const hydrate = compiledHydrators(hydrator, meta)
  // the EntityManager whose unit of work registers the entities (UnitOfWork.register sets it as their __em)
  const owner = fork.getContext(false)
  const unitOfWork = owner.getUnitOfWork(false) as unknown as UnitOfWorkSteps
  const events = fork.getEventManager()
  const driver = fork.getDriver()
  const findOptions = { schema: options.schema, convertCustomTypes: true }
  const schema = driver.getSchemaName(meta, findOptions)
  const onInit = events.hasListeners(EventType.onInit, meta)
  // Without onLoad listeners, the loaded-entity list register() keeps for dispatchOnLoadEvent is
  // never read (it is cleared), so the second register's remaining work is the snapshot.
  const onLoad = events.hasListeners(EventType.onLoad, meta)
  const normalizes = normalizesData(meta, fork)
  const prototype = meta.class.prototype as object
  const existing = factory as unknown as { findEntity(data: object, meta: EntityMetadata<object>, options: object): object | undefined | null }
  const identityMap = unitOfWork.getIdentityMap() as unknown as IdentityMapSteps
  // With scalar primary keys, hydrating the key has no side effects, so the new entity itself can
  // ask the identity map for its slot (the hash register() stores it under) instead of
  // EntityFactory.findEntity converting and hashing the row's key a second way.
  const keysAreScalar = meta.getPrimaryProps().every((prop) => prop.kind === ReferenceKind.SCALAR)

  return (row) => {
    if (!keysAreScalar && existing.findEntity(row, meta, findOptions) != null) return viaFactory(row) // a merge, not a creation
    const data = { ...(row as Record<string, unknown>) }
    const entity = Object.create(prototype) as Record<string, unknown>
    const wrapped = helper(entity) as unknown as WrappedState
    wrapped.__managed = true
    wrapped.__processing = true
    wrapped.__schema = schema
    hydrate.reference(entity, data, factory, options.schema)
    // unitOfWork.register(entity), with the slot's hash computed once for the lookup and the store
    const slots = identityMap.getStore(meta.root)
    const hash = identityMap.getPkHash(entity)
    if (keysAreScalar && slots.get(hash) !== undefined) return viaFactory(row) // a merge: this entity is dropped unseen
    slots.set(hash, entity)
    EntityHelper.ensurePropagation(entity)
    wrapped.__em ??= owner
    wrapped.__initialized = true
    for (const [name, descriptor] of accessors) if (data[name] !== undefined) Object.defineProperty(entity, name, descriptor)
    hydrate.full(entity, data, factory, options.schema, schema)
    for (const key of Object.keys(data)) {
      wrapped.__loadedProperties.add(key)
      wrapped.__serializationContext.fields?.add(key)
    }
    if (wrapped.hasPrimaryKey()) {
      if (onLoad) {
        unitOfWork.register(entity, data, { refresh: true, newEntity: undefined, loaded: true })
      } else {
        // register(entity, data, { refresh: true, loaded: true }) minus what the lines above already did
        if (normalizes) unitOfWork.normalizeEntityData(meta, data)
        wrapped.__originalEntityData = data
      }
    }
    if (onInit) events.dispatchEvent(EventType.onInit, { entity, meta, em: fork })
    wrapped.__processing = false
    return entity
  }
}

/**
 * Whether `UnitOfWork.normalizeEntityData` can change a loaded row of this entity: to-one
 * relations and embeddables are reshaped, `hydrate: false` custom types converted, nulls
 * turned into undefined with `forceUndefined`. Plain scalar rows are left as they are.
 */
function normalizesData(meta: EntityMetadata<object>, em: EntityManager): boolean {
  if (em.config.get('forceUndefined')) return true
  const reshaped = new Set<ReferenceKind>([ReferenceKind.MANY_TO_ONE, ReferenceKind.ONE_TO_ONE, ReferenceKind.EMBEDDED])
  return meta.props.some((prop) => reshaped.has(prop.kind) || prop.hydrate === false)
}

/**
 * `hydrator.hydrateReference(...)` and `hydrator.hydrate(..., 'full', ...)` with em.find's arguments.
 * MikroORM's ObjectHydrator looks its compiled function up by a key string on every call; here it is
 * looked up once and called as those methods call it (same arguments, same `running` flag).
 */
function compiledHydrators(hydrator: Hydrator, meta: EntityMetadata<object>) {
  if (!(hydrator instanceof ObjectHydrator)) {
    return {
      reference: (entity: object, data: object, factory: object, schema: string | undefined) => hydrator.hydrateReference(entity, meta, data, factory, true, schema, undefined),
      full: (entity: object, data: object, factory: object, schema: string | undefined, parentSchema: string | undefined) =>
        hydrator.hydrate(entity, meta, data, factory, 'full', undefined, true, schema, parentSchema, undefined),
    }
  }
  const objectHydrator = hydrator as unknown as ObjectHydrator & { running: boolean }
  const reference = objectHydrator.getEntityHydrator(meta, 'reference') as unknown as CompiledHydrator
  const full = objectHydrator.getEntityHydrator(meta, 'full') as unknown as CompiledHydrator
  // Both methods set `running` for loaded entities (em.find's are not new): propagation then counts as hydration.
  const run = (fn: CompiledHydrator, entity: object, data: object, factory: object, schema: string | undefined, parentSchema: string | undefined) => {
    const before = objectHydrator.running
    objectHydrator.running = true
    Utils.callCompiledFunction(fn, entity, data, factory, false, true, schema, parentSchema, undefined)
    objectHydrator.running = before
  }
  return {
    reference: (entity: object, data: object, factory: object, schema: string | undefined) => run(reference, entity, data, factory, schema, undefined),
    full: (entity: object, data: object, factory: object, schema: string | undefined, parentSchema: string | undefined) => run(full, entity, data, factory, schema, parentSchema),
  }
}
type CompiledHydrator = (entity: object, data: object, factory: object, newEntity: boolean, convertCustomTypes: boolean, schema: string | undefined, parentSchema: string | undefined, normalizeAccessors: undefined) => void

/** The parts of MikroORM's hydrator and entity wrapper the creator calls (internal in MikroORM 7). */
interface Hydrator {
  hydrate(entity: object, meta: EntityMetadata<object>, data: object, factory: object, type: 'full', newEntity: undefined, convertCustomTypes: true, schema: string | undefined, parentSchema: string | undefined, normalizeAccessors: undefined): void
  hydrateReference(entity: object, meta: EntityMetadata<object>, data: object, factory: object, convertCustomTypes: true, schema: string | undefined, parentSchema: undefined): void
}
interface WrappedState {
  __em?: EntityManager
  __originalEntityData?: object
  __managed: boolean
  __processing: boolean
  __initialized: boolean
  __schema: string | undefined
  readonly __loadedProperties: Set<string>
  readonly __serializationContext: { fields?: Set<string> }
  hasPrimaryKey(): boolean
}

/** The parts of MikroORM's unit of work and identity map the creator calls (internal in MikroORM 7). */
interface UnitOfWorkSteps {
  getIdentityMap(): unknown
  register(entity: object, data: object, options: { refresh: boolean; newEntity: undefined; loaded: boolean }): void
  normalizeEntityData(meta: EntityMetadata<object>, data: object): void
}
interface IdentityMapSteps {
  getStore(meta: EntityMetadata<object>): Map<string, object>
  getPkHash(entity: object): string
}

const accessorsByMeta = new WeakMap<object, readonly [string, PropertyDescriptor][] | null>()

/**
 * For each property MikroORM's hydrator assigns through the prototype's one-time setter, in the
 * hydrator's order: the accessor pair that setter would define on the instance. Undefined when
 * the entity has anything this path does not reproduce exactly.
 */
function propertyAccessors(meta: EntityMetadata<object>, em: EntityManager): readonly [string, PropertyDescriptor][] | undefined {
  let accessors = accessorsByMeta.get(meta)
  if (accessors === undefined) {
    accessors = plainAccessors(meta, em)
    accessorsByMeta.set(meta, accessors)
  }
  return accessors ?? undefined
}

function plainAccessors(meta: EntityMetadata<object>, em: EntityManager): readonly [string, PropertyDescriptor][] | null {
  if (!TESTED_MIKRO_ORM.test(Utils.getORMVersion())) return null
  const m = meta as EntityMetadata<object> & { forceConstructor?: boolean; embeddable?: boolean; polymorphs?: unknown }
  if (m.virtual || m.embeddable || m.forceConstructor || m.polymorphs !== undefined || meta.root.inheritanceType !== undefined) return null
  if (!em.config.get('propagationOnPrototype')) return null
  if (meta.props.some((prop) => prop.serializedPrimaryKey)) return null
  const tracking = new Set<unknown>(meta.trackingProps)
  const accessors: [string, PropertyDescriptor][] = []
  let collectionSeen = false
  for (const prop of meta.hydrateProps) {
    // the primary key and to-one relations are hydrated the same way on both paths
    if (prop.primary || tracking.has(prop)) continue
    // a collection is a plain property the hydrator assigns in its turn: fine after every accessor,
    // but defining the accessors up front would move it ahead of a later one
    if (prop.kind === ReferenceKind.ONE_TO_MANY || prop.kind === ReferenceKind.MANY_TO_MANY) {
      collectionSeen = true
      continue
    }
    if (collectionSeen || prop.kind !== ReferenceKind.SCALAR) return null
    if (prop.accessor || prop.getter || prop.setter || prop.persist === false || prop.embedded || prop.inherited) return null
    // MikroORM's one-time setter on the prototype: a setter without a getter
    const onPrototype = Object.getOwnPropertyDescriptor(meta.prototype, prop.name)
    if (onPrototype?.set === undefined || onPrototype.get !== undefined) return null
    const name = prop.name
    accessors.push([
      name,
      {
        get(this: { __helper?: { __data: Record<string, unknown> } }) {
          return this.__helper?.__data[name]
        },
        set(this: { __helper: { __data: Record<string, unknown> } }, value: unknown) {
          this.__helper.__data[name] = value
        },
        enumerable: true,
        configurable: true,
      },
    ])
  }
  return accessors
}
