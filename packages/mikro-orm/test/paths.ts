import { afterAll, beforeAll, vi } from 'vitest'
import { forgetDetectedPaths } from '../src/internals.js'

/**
 * Runs the enclosing `describe`'s tests on MikroORM's fast or public paths (`BATCHYIELD_MIKRO_PATHS=public`,
 * see src/internals.ts), detected afresh before and after them.
 */
export function usePaths(paths: 'fast' | 'public'): void {
  beforeAll(() => {
    if (paths === 'public') vi.stubEnv('BATCHYIELD_MIKRO_PATHS', 'public')
    forgetDetectedPaths()
  })
  afterAll(() => {
    vi.unstubAllEnvs()
    forgetDetectedPaths()
  })
}
