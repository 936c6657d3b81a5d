import { defineConfig } from 'tsdown'

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  // .js and .d.ts maps point at ../src, which package.json `files` ships: stack traces (--enable-source-maps)
  // and go-to-definition land in the TypeScript source.
  dts: { sourcemap: true },
  sourcemap: true,
  clean: true,
  platform: 'neutral',
})
