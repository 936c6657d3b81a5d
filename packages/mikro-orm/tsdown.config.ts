import { defineConfig } from 'tsdown'

// ESM only: MikroORM 7 itself is ESM-only, so a CommonJS build would have nothing to load.
export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm'],
  // .js and .d.ts maps point at ../src, which package.json `files` ships: stack traces (--enable-source-maps)
  // and go-to-definition land in the TypeScript source.
  dts: { sourcemap: true },
  sourcemap: true,
  clean: true,
  platform: 'node',
  // package.json exports name dist/index.js (+ .cjs/.d.ts/.d.cts): keep type-based extensions, not .mjs.
  fixedExtension: false,
  external: [/^@mikro-orm\//, /^@batchyield\/batch-core/],
})
