import { type ObjectLiteral, SelectQueryBuilder } from 'typeorm'
import { aiterator } from './aiterator.js'
import type { TypeormBatchOptions } from './options.js'

declare module 'typeorm' {
  interface SelectQueryBuilder<Entity extends ObjectLiteral> {
    /**
     * Streams this query's entities in lists of `batchYieldSize` (the last may be shorter),
     * fetching `chunkSize` rows (default 2000) per round trip. Added by `@batchyield/typeorm`.
     *
     * @example
     * ```ts
     * import '@batchyield/typeorm'
     * for await (const users of repo.createQueryBuilder('u').where('u.active').aiterator(500)) await sendToApi(users)
     * ```
     */
    aiterator(batchYieldSize: number, options?: Omit<TypeormBatchOptions, 'batchYieldSize'>): AsyncGenerator<Entity[], void, undefined>
    /**
     * Streams this query's entities in lists of `options.batchYieldSize`.
     *
     * @example
     * ```ts
     * for await (const users of qb.aiterator({ batchYieldSize: 500, chunkSize: 5000, strategy: 'keyset' })) await sendToApi(users)
     * ```
     */
    aiterator(options: TypeormBatchOptions & { readonly batchYieldSize: number }): AsyncGenerator<Entity[], void, undefined>
    /**
     * Streams this query's entities one at a time (fetched `chunkSize` rows per round trip).
     *
     * @example
     * ```ts
     * for await (const user of qb.aiterator()) console.log(user.email)
     * ```
     */
    aiterator(options?: TypeormBatchOptions & { readonly batchYieldSize?: undefined }): AsyncGenerator<Entity, void, undefined>
    /**
     * Options whose `batchYieldSize` is not known statically: lists when it is set, else entities.
     *
     * @example
     * ```ts
     * const options: TypeormBatchOptions = loadOptions()
     * for await (const item of qb.aiterator(options)) handle(item) // User | User[]
     * ```
     */
    aiterator(options?: TypeormBatchOptions): AsyncGenerator<Entity | Entity[], void, undefined>
  }
}

/** Marks our method, shared by the ESM and CommonJS builds (Symbol.for is process-wide). */
const MARK = Symbol.for('@batchyield/typeorm/aiterator')

/**
 * Adds `aiterator()` to TypeORM's `SelectQueryBuilder.prototype`. Importing
 * `@batchyield/typeorm` does this already; calling it again (or loading both the ESM and the
 * CommonJS build) changes nothing. Throws if another library defined an `aiterator` there.
 *
 * @example
 * ```ts
 * import { installAiterator } from '@batchyield/typeorm'
 * installAiterator() // idempotent
 * ```
 */
export function installAiterator(): void {
  const prototype = SelectQueryBuilder.prototype as unknown as Record<PropertyKey, unknown>
  const existing = Object.getOwnPropertyDescriptor(prototype, 'aiterator')
  if (existing !== undefined) {
    if ((existing.value as Record<PropertyKey, unknown> | undefined)?.[MARK] === true) return
    throw new TypeError('@batchyield/typeorm: SelectQueryBuilder.prototype.aiterator is already defined by another library; use aiterator(qb, options) instead')
  }
  const method = function (this: SelectQueryBuilder<ObjectLiteral>, sizeOrOptions?: number | TypeormBatchOptions, more?: Omit<TypeormBatchOptions, 'batchYieldSize'>) {
    return aiterator(this, sizeOrOptions, more)
  }
  Object.defineProperty(method, MARK, { value: true })
  Object.defineProperty(prototype, 'aiterator', { value: method, writable: true, configurable: true, enumerable: false })
}
