import { afterAll, beforeAll } from 'vitest'
import type { Dataset } from '#src/dataset'
import type { Dialect } from '#src/dialect'
import { type SeedOptions, seed } from '#src/seed'
import { createTestDatabase } from '#src/test-database'

/** What {@link useTestDatabase} hands a test file; its fields are readable once `beforeAll` has run. */
export interface UsedTestDatabase {
  readonly url: string
  readonly name: string
  readonly dialect: Dialect
  /** The rows `seed()` inserted (empty tables' lists when `seed` was off). */
  readonly dataset: Dataset
}

/** Options for {@link useTestDatabase}. */
export interface UseTestDatabaseOptions {
  /** Seed the small tables (true for the defaults, or seed options); default false. */
  seed?: boolean | SeedOptions
  /** Apply the fixture schema (default true). */
  schema?: boolean
}

const emptyDataset: Dataset = {
  authors: [],
  books: [],
  tags: [],
  bookTags: [],
  orderLines: [],
  devices: [],
  countries: [],
}

/**
 * Registers `beforeAll`/`afterAll` hooks that create a fresh database for this test file (optionally seeded)
 * and drop it afterwards. Call it at the top level of a test file or inside a `describe`.
 *
 * @example
 * ```ts
 * import { useTestDatabase } from '@batchyield/test-fixtures/vitest'
 *
 * const db = useTestDatabase('postgres', { seed: true })
 * it('reads every book', async () => {
 *   expect(await countBooks(db.url)).toBe(db.dataset.books.length)
 * })
 * ```
 */
export function useTestDatabase(dialect: Dialect, options: UseTestDatabaseOptions = {}): UsedTestDatabase {
  let state: { url: string; name: string; dataset: Dataset; drop: () => Promise<void> } | undefined
  beforeAll(async () => {
    const database = await createTestDatabase({ dialect, schema: options.schema ?? true })
    try {
      const seedOptions = options.seed === true ? {} : options.seed || undefined
      const dataset = seedOptions ? await seed(database.url, seedOptions) : emptyDataset
      state = { url: database.url, name: database.name, dataset, drop: database.drop }
    } catch (error) {
      await database.drop()
      throw error
    }
  }, 60_000)
  afterAll(async () => {
    await state?.drop()
  }, 60_000)

  const current = () => {
    if (state === undefined) {
      throw new Error('useTestDatabase(): the database exists only inside tests and hooks, after beforeAll has run')
    }
    return state
  }
  return {
    dialect,
    get url() {
      return current().url
    },
    get name() {
      return current().name
    },
    get dataset() {
      return current().dataset
    },
  }
}
