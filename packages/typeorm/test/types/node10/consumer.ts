// Type-checked by test/type-resolution.test.ts against the built package (dist/*.d.ts).
import '@batchyield/typeorm'
import { aiterator, installAiterator, type TypeormBatchOptions } from '@batchyield/typeorm'
import type { SelectQueryBuilder } from 'typeorm'

interface User {
  id: number
  email: string
}
declare const qb: SelectQueryBuilder<User>

export const lists: AsyncGenerator<User[], void, undefined> = qb.aiterator(500)
export const listsFromOptions: AsyncGenerator<User[], void, undefined> = qb.aiterator({
  batchYieldSize: 500,
  chunkSize: 2000,
})
export const singles: AsyncGenerator<User, void, undefined> = qb.aiterator()
export const explicit: AsyncGenerator<User[], void, undefined> = aiterator(qb, 10)
export const options: TypeormBatchOptions = { strategy: 'keyset' }
installAiterator()
// @ts-expect-error: with a size, the items are lists
export const wrong: AsyncGenerator<User, void, undefined> = qb.aiterator(500)
