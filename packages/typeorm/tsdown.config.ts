import { defineConfig } from 'tsdown'

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  platform: 'node',
  // package.json exports name dist/index.js (+ .cjs/.d.ts/.d.cts): keep type-based extensions, not .mjs.
  fixedExtension: false,
  // One SelectQueryBuilder for both builds: never bundle TypeORM (or the core).
  external: ['typeorm', /^typeorm\//, '@batchyield/batch-core'],
})
