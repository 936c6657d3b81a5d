import { createRequire } from 'node:module'
import { Utils } from '@mikro-orm/core'

// Resolved from this package's location, as a static import would be; a require() (of ESM on MikroORM 7,
// unflagged from Node 20.19) keeps the package loadable on MikroORM 6, which has no @mikro-orm/sql.
const require = createRequire(import.meta.url)

/**
 * The package of MikroORM's SQL layer beside the running @mikro-orm/core: `@mikro-orm/sql` from 7.0,
 * `@mikro-orm/knex` before (same QueryBuilder and SqlEntityManager, other name).
 */
export function sqlPackageName(): '@mikro-orm/sql' | '@mikro-orm/knex' {
  return Number(Utils.getORMVersion().split('.')[0]) >= 7 ? '@mikro-orm/sql' : '@mikro-orm/knex'
}

/**
 * The SQL layer's `QueryBuilder` class, or undefined when the project has no SQL driver installed (a
 * MongoDB-only project): `em.aiterator` needs none of it.
 */
export function sqlQueryBuilderClass(): (abstract new (...args: never[]) => object) | undefined {
  try {
    return (require(sqlPackageName()) as { QueryBuilder: abstract new (...args: never[]) => object }).QueryBuilder
  } catch (error) {
    if (
      (error as { code?: string }).code === 'MODULE_NOT_FOUND' &&
      (error as Error).message.includes(`'${sqlPackageName()}'`)
    )
      return undefined
    throw error
  }
}

/**
 * `em.execute(sql, params)` returning every row, cancelled by `signal` where MikroORM can: the options
 * form (`{ method, signal }`) is 7.2's; before it, `method` is the third argument and there is no signal
 * (the run's abort is then seen between reads).
 */
export function executeAll(
  em: object,
  sql: string,
  params: unknown[],
  signal: AbortSignal | undefined,
): Promise<Record<string, unknown>[]> {
  const sqlEm = em as {
    execute(
      sql: string,
      params: unknown[],
      methodOrOptions: 'all' | { method: 'all'; signal?: AbortSignal },
    ): Promise<Record<string, unknown>[]>
  }
  return sqlEm.execute(sql, params, takesExecuteOptions() ? { method: 'all', signal } : 'all')
}

/** MikroORM 7.2 and later: `em.execute` takes `{ method, signal }`, and em.find's queries check the signal before they are sent. */
export function takesExecuteOptions(): boolean {
  const [major = 0, minor = 0] = Utils.getORMVersion().split('.').map(Number)
  return major > 7 || (major === 7 && minor >= 2)
}
