import { EntityManager, type EntityName, type IDatabaseDriver, type Loaded } from '@mikro-orm/core'
import { aiterator } from './aiterator.js'
import type { AiteratorOptions } from './options.js'

declare module '@mikro-orm/core' {
  interface EntityManager<Driver extends IDatabaseDriver = IDatabaseDriver> {
    /**
     * Iterates over `Entity` rows in chunks of `chunkSize` (one round trip each), yielding
     * lists of `batchYieldSize` entities, with memory bounded by the chunk. Added to every
     * EntityManager by `import '@batchyield/mikro-orm'`; see `aiterator(em, Entity, options)`.
     *
     * @example
     * ```ts
     * import '@batchyield/mikro-orm'
     *
     * for await (const books of em.aiterator(Book, { populate: ['author'], batchYieldSize: 500 })) {
     *   await sendToApi(books.map((b) => ({ title: b.title, author: b.author.name })))
     * }
     * ```
     */
    aiterator<Entity extends object, Hint extends string = never, Fields extends string = never, Excludes extends string = never>(
      entityName: EntityName<Entity>,
      options: AiteratorOptions<NoInfer<Entity>, Hint, Fields, Excludes> & { readonly batchYieldSize: number },
    ): AsyncGenerator<Loaded<Entity, Hint, Fields, Excludes>[], void, undefined>
    aiterator<Entity extends object, Hint extends string = never, Fields extends string = never, Excludes extends string = never>(
      entityName: EntityName<Entity>,
      options?: AiteratorOptions<NoInfer<Entity>, Hint, Fields, Excludes> & { readonly batchYieldSize?: undefined },
    ): AsyncGenerator<Loaded<Entity, Hint, Fields, Excludes>, void, undefined>
    aiterator<Entity extends object, Hint extends string = never, Fields extends string = never, Excludes extends string = never>(
      entityName: EntityName<Entity>,
      options?: AiteratorOptions<NoInfer<Entity>, Hint, Fields, Excludes>,
    ): AsyncGenerator<Loaded<Entity, Hint, Fields, Excludes> | Loaded<Entity, Hint, Fields, Excludes>[], void, undefined>
  }
}

/** Marks our method, so a second copy of this package recognises it and installs nothing. */
const MARK = Symbol.for('@batchyield/mikro-orm.aiterator')

function emAiterator(this: EntityManager, entityName: EntityName<object>, options?: AiteratorOptions<object>): AsyncGenerator<unknown, void, undefined> {
  return aiterator(this, entityName, options)
}
Object.defineProperty(emAiterator, MARK, { value: true })

/**
 * Adds `aiterator` to `EntityManager.prototype` (every EntityManager, its forks and driver
 * subclasses). `import '@batchyield/mikro-orm'` calls it once; calling it again is harmless.
 * Throws if another library already put a different `aiterator` there.
 *
 * @example
 * ```ts
 * import { installAiterator } from '@batchyield/mikro-orm'
 * installAiterator() // no-op: importing the package already installed it
 * ```
 */
export function installAiterator(): void {
  const proto = EntityManager.prototype as unknown as Record<string, unknown>
  const existing = proto.aiterator as (Record<symbol, unknown> & object) | undefined
  if (existing !== undefined) {
    if (existing[MARK] === true) return
    throw new Error('@batchyield/mikro-orm: EntityManager.prototype.aiterator is already defined by another library; use aiterator(em, Entity, options) instead of the method')
  }
  Object.defineProperty(proto, 'aiterator', { value: emAiterator, writable: true, configurable: true, enumerable: false })
}
