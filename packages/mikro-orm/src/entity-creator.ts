import {
  type EntityData,
  EntityHelper,
  ObjectHydrator,
  type EntityManager,
  type EntityMetadata,
  type EntityName,
  EventType,
  helper,
  ReferenceKind,
  Utils,
} from '@mikro-orm/core'
import { pathsOf } from './internals.js'

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
 * property once, so that setter is the largest single cost of creating an entity (plus the
 * garbage of its closures). Here the same accessors (same attributes, same
 * behaviour, functions shared per property) are defined before MikroORM's hydrator runs, so its
 * assignments land in them directly, on objects that start from a hidden class of their own
 * ({@link entityShell}) so that they stay in V8's fast mode next to MikroORM's own entities.
 * The other steps follow `EntityFactory.create`'s order: the reference hydration of the primary
 * key, identity map registration and relation propagation setup (for an entity without relations,
 * their effects done directly: {@link registrations}), the hydrator, loaded properties,
 * the change-tracking snapshot, `onInit` events.
 *
 * Rows it does not take (an entity already in the identity map) and entities it does not know
 * how to create exactly (inheritance, embeddables, custom accessors, a collection declared before
 * a scalar, virtual entities, a forced constructor, `propagationOnPrototype: false`, ...) go to
 * `EntityFactory.create` itself, as does every entity on a MikroORM release other than
 * `FAST_CREATOR_LINES` (internals.ts). The test `entity-creator.postgres.test.ts` holds both to the
 * same result, entity by entity.
 */
export function entityCreator(
  fork: EntityManager,
  entityName: EntityName<object>,
  options: CreateOptions,
): (row: object) => object {
  const factory = fork.getEntityFactory()
  const meta = fork.getMetadata(entityName) as EntityMetadata<object>
  const createOptions = { merge: true, refresh: options.refresh, schema: options.schema, convertCustomTypes: true }
  const viaFactory = (row: object): object =>
    factory.create(entityName, row as EntityData<object>, { ...createOptions })
  // it calls MikroORM internals in EntityFactory.create's order: only on the lines it was tested on (internals.ts)
  if (pathsOf(fork).creator !== 'fast') return viaFactory
  const accessors = propertyAccessors(meta, fork)
  if (accessors === undefined) return viaFactory

  const hydrator = fork.config.getHydrator(fork.getMetadata()) as unknown as Hydrator
  const hydrate = compiledHydrators(hydrator, meta)
  const events = fork.getEventManager()
  const driver = fork.getDriver()
  const findOptions = { schema: options.schema, convertCustomTypes: true }
  const schema = driver.getSchemaName(meta, findOptions)
  const onInit = events.hasListeners(EventType.onInit, meta)
  const Shell = entityShell(meta.class.prototype as EntityPrototype, accessors)
  const existing = factory as unknown as {
    findEntity(data: object, meta: EntityMetadata<object>, options: object): object | undefined | null
  }
  // With scalar primary keys, hydrating the key has no side effects, so the new entity itself can
  // ask the identity map for its slot (the hash register() stores it under) instead of
  // EntityFactory.findEntity converting and hashing the row's key a second way.
  const keysAreScalar = meta.getPrimaryProps().every((prop) => prop.kind === ReferenceKind.SCALAR)
  const registration = registrations(meta, fork, keysAreScalar)

  return (row) => {
    if (!keysAreScalar && existing.findEntity(row, meta, findOptions) != null) return viaFactory(row) // a merge, not a creation
    const data = { ...(row as Record<string, unknown>) }
    const entity = new Shell() as Record<string, unknown>
    const wrapped = helper(entity) as unknown as WrappedState
    wrapped.__managed = true
    wrapped.__processing = true
    wrapped.__schema = schema
    hydrate.reference(entity, data, factory, options.schema)
    if (keysAreScalar && registration.occupant(entity) !== undefined) return viaFactory(row) // a merge: this entity is dropped unseen
    registration.beforeHydration(entity)
    wrapped.__initialized = true
    for (const [name, descriptor] of accessors)
      if (data[name] !== undefined) Object.defineProperty(entity, name, descriptor)
    hydrate.full(entity, data, factory, options.schema, schema)
    for (const key of Object.keys(data)) {
      wrapped.__loadedProperties.add(key)
      wrapped.__serializationContext.fields?.add(key)
    }
    registration.afterHydration(entity, data, wrapped)
    if (onInit) events.dispatchEvent(EventType.onInit, { entity, meta, em: fork })
    wrapped.__processing = false
    return entity
  }
}

/** The two identity map registrations `EntityFactory.create` makes for a loaded entity. */
interface Registrations {
  /** The entity in the identity map slot of this one's primary key, if any (then it is a merge): `identityMap.getByEntity(entity)`. */
  occupant(entity: object): object | undefined
  /** Before the full hydration: `unitOfWork.register(entity)` and `EntityHelper.ensurePropagation(entity)`. */
  beforeHydration(entity: object): void
  /** After it: `unitOfWork.register(entity, data, { refresh: true, loaded: true })` when the entity has a primary key. */
  afterHydration(entity: object, data: object, wrapped: WrappedState): void
}

/**
 * The registrations of {@link entityCreator}'s entities: MikroORM's own calls, or, for an entity
 * without relations, their effects done directly.
 *
 * Why: for such an entity nothing reads the identity map during hydration, so one identity map
 * entry at the end does (not two, each hashing the primary key), and ensurePropagation's generic
 * path (a scan of the properties, then `Object.defineProperties`) has one effect, the
 * `__gettersDefined` flag. With no `onLoad` listener, the second registration's mark "loaded,
 * onLoad to fire" has no effect either (`dispatchOnLoadEvent` only acts on listeners), so its
 * remaining effects are done directly too: the entity stored (under the key its merge check
 * computed), its data normalized (where that changes anything) and kept as the change-tracking
 * snapshot. Together they are a large share of a plain read's time (bench/results/history.md).
 * A listener subscribed while a chunk's entities are being created sees onLoad from the next chunk on.
 */
function registrations(meta: EntityMetadata<object>, fork: EntityManager, keysAreScalar: boolean): Registrations {
  const unitOfWork = fork.getUnitOfWork() as ReturnType<EntityManager['getUnitOfWork']> & {
    normalizeEntityData(meta: EntityMetadata<object>, data: object): void
  }
  const identityMap = unitOfWork.getIdentityMap() as unknown as IdentityMapSlots
  const defined = meta.definedProperties as Record<string, PropertyDescriptor>
  const flag = defined.__gettersDefined
  const register = (entity: object, data: object): void =>
    void unitOfWork.register(entity, data, { refresh: true, newEntity: undefined, loaded: true })
  // with scalar keys the creator asks occupant() for every entity, which computes the entry's key
  const direct =
    keysAreScalar &&
    meta.relations.length === 0 &&
    meta.trackingProps.length === 0 &&
    flag !== undefined &&
    Object.keys(defined).length === 1
  if (!direct) {
    return {
      occupant: (entity) => identityMap.getByEntity(entity),
      beforeHydration(entity) {
        unitOfWork.register(entity)
        EntityHelper.ensurePropagation(entity)
      },
      afterHydration(entity, data, wrapped) {
        if (wrapped.hasPrimaryKey()) register(entity, data)
      },
    }
  }
  const onLoad = fork.getEventManager().hasListeners(EventType.onLoad, meta)
  // normalizeEntityData changes a relation-free entity's data only for forceUndefined and for
  // properties not hydrated that have a custom type
  const normalizes =
    fork.config.get('forceUndefined') ||
    meta.props.some((prop) => prop.hydrate === false && prop.customType !== undefined)
  /** The identity map key of the entity being created (one at a time), from its merge check. */
  let key = ''
  return {
    occupant(entity) {
      key = identityMap.getPkHash(entity)
      return identityMap.getStore(meta.root).get(key)
    },
    beforeHydration(entity) {
      if (!(entity as { __gettersDefined?: boolean }).__gettersDefined)
        Object.defineProperty(entity, '__gettersDefined', flag)
      const wrapped = helper(entity) as unknown as WrappedState
      wrapped.__em ??= fork
      wrapped.__managed = true
    },
    afterHydration(entity, data, wrapped) {
      if (!wrapped.hasPrimaryKey())
        unitOfWork.register(entity) // the entry the first registration makes
      else if (onLoad) register(entity, data)
      else {
        identityMap.getStore(meta.root).set(key, entity) // not cached: em.clear() (in an onInit hook, say) drops the stores
        if (normalizes) unitOfWork.normalizeEntityData(meta, data)
        wrapped.__originalEntityData = data
      }
    },
  }
}

/**
 * `hydrator.hydrateReference(...)` and `hydrator.hydrate(..., 'full', ...)` with em.find's arguments.
 * MikroORM's ObjectHydrator looks its compiled function up by a key string on every call; here it is
 * looked up once and called as those methods call it (same arguments, same `running` flag).
 */
function compiledHydrators(hydrator: Hydrator, meta: EntityMetadata<object>) {
  if (!(hydrator instanceof ObjectHydrator)) {
    return {
      reference: (entity: object, data: object, factory: object, schema: string | undefined) =>
        hydrator.hydrateReference(entity, meta, data, factory, true, schema, undefined),
      full: (
        entity: object,
        data: object,
        factory: object,
        schema: string | undefined,
        parentSchema: string | undefined,
      ) => hydrator.hydrate(entity, meta, data, factory, 'full', undefined, true, schema, parentSchema, undefined),
    }
  }
  const objectHydrator = hydrator as unknown as ObjectHydrator & { running: boolean }
  const reference = objectHydrator.getEntityHydrator(meta, 'reference') as unknown as CompiledHydrator
  const full = objectHydrator.getEntityHydrator(meta, 'full') as unknown as CompiledHydrator
  // Both methods set `running` for loaded entities (em.find's are not new): propagation then counts as hydration.
  const run = (
    fn: CompiledHydrator,
    entity: object,
    data: object,
    factory: object,
    schema: string | undefined,
    parentSchema: string | undefined,
  ) => {
    const before = objectHydrator.running
    objectHydrator.running = true
    Utils.callCompiledFunction(fn, entity, data, factory, false, true, schema, parentSchema, undefined)
    objectHydrator.running = before
  }
  return {
    reference: (entity: object, data: object, factory: object, schema: string | undefined) =>
      run(reference, entity, data, factory, schema, undefined),
    full: (
      entity: object,
      data: object,
      factory: object,
      schema: string | undefined,
      parentSchema: string | undefined,
    ) => run(full, entity, data, factory, schema, parentSchema),
  }
}
type CompiledHydrator = (
  entity: object,
  data: object,
  factory: object,
  newEntity: boolean,
  convertCustomTypes: boolean,
  schema: string | undefined,
  parentSchema: string | undefined,
  normalizeAccessors: undefined,
) => void

/** The parts of MikroORM's hydrator and entity wrapper the creator calls (internal in MikroORM 7). */
interface Hydrator {
  hydrate(
    entity: object,
    meta: EntityMetadata<object>,
    data: object,
    factory: object,
    type: 'full',
    newEntity: undefined,
    convertCustomTypes: true,
    schema: string | undefined,
    parentSchema: string | undefined,
    normalizeAccessors: undefined,
  ): void
  hydrateReference(
    entity: object,
    meta: EntityMetadata<object>,
    data: object,
    factory: object,
    convertCustomTypes: true,
    schema: string | undefined,
    parentSchema: undefined,
  ): void
}
/** MikroORM's identity map, with the (private in MikroORM 7) key its `store` and `getByEntity` hash an entity to. */
interface IdentityMapSlots {
  getByEntity(entity: object): object | undefined
  getStore(meta: EntityMetadata<object>): Map<string, object>
  getPkHash(entity: object): string
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

/** An entity prototype as MikroORM defines it: `__meta` is the metadata its base properties were last defined with. */
interface EntityPrototype {
  readonly __meta: { readonly definedProperties: object }
}

const shells = new WeakMap<object, { readonly relationAccessors: object; readonly Shell: new () => object }>()

/**
 * A constructor of empty objects with the entity's prototype: `new Shell()` makes what
 * `Object.create(prototype)` makes, starting from a hidden class of its own.
 *
 * Why: V8 keeps objects that gain properties the same way on one shared chain of hidden classes,
 * and an accessor property joins that chain only with the same getter and setter. The entities
 * MikroORM loads itself (em.find, references) start from `Object.create(prototype)` and get new
 * accessor functions per instance; on that chain, our entity finds the accessor step taken with
 * other functions and becomes a dictionary-mode object, slower to create and to read. That happens
 * once the application has run em.find, until a major GC clears the step, which can take a large
 * part of a long run (bench/results/history.md).
 * A chain holds one set of accessors, so there is one shell per set: ours (`accessors`) with the
 * relation accessors MikroORM's propagation setup defines (`__meta.definedProperties` of the
 * prototype, new when another MikroORM instance discovers the same entity classes).
 */
function entityShell(prototype: EntityPrototype, accessors: object): new () => object {
  const relationAccessors = prototype.__meta.definedProperties
  let entry = shells.get(accessors)
  if (entry?.relationAccessors !== relationAccessors) {
    const shell = function EntityShell() {}
    shell.prototype = prototype
    entry = { relationAccessors, Shell: shell as unknown as new () => object }
    shells.set(accessors, entry)
  }
  return entry.Shell
}

const accessorsByMeta = new WeakMap<object, readonly [string, PropertyDescriptor][] | null>()

/**
 * For each property MikroORM's hydrator assigns through the prototype's one-time setter, in the
 * hydrator's order: the accessor pair that setter would define on the instance. Undefined when
 * the entity has anything this path does not reproduce exactly.
 */
function propertyAccessors(
  meta: EntityMetadata<object>,
  em: EntityManager,
): readonly [string, PropertyDescriptor][] | undefined {
  let accessors = accessorsByMeta.get(meta)
  if (accessors === undefined) {
    accessors = plainAccessors(meta, em)
    accessorsByMeta.set(meta, accessors)
  }
  return accessors ?? undefined
}

function plainAccessors(
  meta: EntityMetadata<object>,
  em: EntityManager,
): readonly [string, PropertyDescriptor][] | null {
  const m = meta as EntityMetadata<object> & { forceConstructor?: boolean; embeddable?: boolean; polymorphs?: unknown }
  if (
    m.virtual ||
    m.embeddable ||
    m.forceConstructor ||
    m.polymorphs !== undefined ||
    meta.root.inheritanceType !== undefined
  )
    return null
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
    if (prop.accessor || prop.getter || prop.setter || prop.persist === false || prop.embedded || prop.inherited)
      return null
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
