import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SelectQueryBuilder } from 'typeorm'
import { describe, expect, it } from 'vitest'

// TypeORM users are mostly on CommonJS; ESM users get typeorm's index.mjs, which re-exports the
// CommonJS module. Both builds of this package must patch that one SelectQueryBuilder, and loading
// both (as happens in mixed projects) must be harmless. Needs `npm run build` first.

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist')

describe('ESM and CommonJS builds', () => {
  it('patch the one SelectQueryBuilder prototype, once, whichever loads first', async () => {
    const require = createRequire(import.meta.url)
    const cjs = require(join(dist, 'index.cjs')) as typeof import('../src/index.js')
    const fromCjs = Object.getOwnPropertyDescriptor(SelectQueryBuilder.prototype, 'aiterator')
    const esm = (await import(join(dist, 'index.js'))) as typeof import('../src/index.js')
    const afterEsm = Object.getOwnPropertyDescriptor(SelectQueryBuilder.prototype, 'aiterator')

    expect(require('typeorm').SelectQueryBuilder).toBe(SelectQueryBuilder)
    expect(typeof fromCjs?.value).toBe('function')
    expect(afterEsm?.value).toBe(fromCjs?.value)
    expect(afterEsm?.enumerable).toBe(false)

    cjs.installAiterator()
    esm.installAiterator()
    expect(Object.getOwnPropertyDescriptor(SelectQueryBuilder.prototype, 'aiterator')?.value).toBe(fromCjs?.value)
    expect(cjs.aiterator).not.toBe(esm.aiterator) // two builds really were loaded
  })

  it('refuses to replace an aiterator that another library defined', async () => {
    const { installAiterator } = (await import(join(dist, 'index.js'))) as typeof import('../src/index.js')
    const ours = Object.getOwnPropertyDescriptor(SelectQueryBuilder.prototype, 'aiterator')!
    const foreign = () => 'foreign'
    Object.defineProperty(SelectQueryBuilder.prototype, 'aiterator', { value: foreign, configurable: true, writable: true })
    try {
      expect(() => installAiterator()).toThrow(/already defined by another library/)
      expect((SelectQueryBuilder.prototype as unknown as { aiterator: unknown }).aiterator).toBe(foreign)
    } finally {
      Object.defineProperty(SelectQueryBuilder.prototype, 'aiterator', ours)
    }
  })
})
