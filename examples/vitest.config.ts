import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['@batchyield/test-fixtures/global-setup'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
})
