import { defineConfig } from 'tsdown'

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  // .js and .d.ts maps point at ../src, which package.json `files` ships: stack traces (--enable-source-maps)
  // and go-to-definition land in the TypeScript source.
  dts: { sourcemap: true },
  sourcemap: true,
  clean: true,
  platform: 'node',
  // package.json exports name dist/index.js (+ .cjs/.d.ts/.d.cts): keep type-based extensions, not .mjs.
  fixedExtension: false,
  // One SelectQueryBuilder for both builds: never bundle TypeORM (or the core).
  external: ['typeorm', /^typeorm\//, '@batchyield/batch-core'],
})
