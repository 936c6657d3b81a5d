// CommonJS consumer under NodeNext: resolves the "require" condition (dist/index.d.cts).
import '@batchyield/typeorm'
import { aiterator, installAiterator, type TypeormBatchOptions } from '@batchyield/typeorm'
import type { SelectQueryBuilder } from 'typeorm'

interface User {
  id: number
  email: string
}
declare const qb: SelectQueryBuilder<User>

export const cjs_lists: AsyncGenerator<User[], void, undefined> = qb.aiterator(500)
export const cjs_listsFromOptions: AsyncGenerator<User[], void, undefined> = qb.aiterator({
  batchYieldSize: 500,
  chunkSize: 2000,
})
export const cjs_singles: AsyncGenerator<User, void, undefined> = qb.aiterator()
export const cjs_explicit: AsyncGenerator<User[], void, undefined> = aiterator(qb, 10)
export const cjs_options: TypeormBatchOptions = { strategy: 'keyset' }
installAiterator()
// @ts-expect-error: with a size, the items are lists
export const cjs_wrong: AsyncGenerator<User, void, undefined> = qb.aiterator(500)
