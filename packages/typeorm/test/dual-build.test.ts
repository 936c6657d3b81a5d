import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { EntityManager, Repository, SelectQueryBuilder } from 'typeorm'
import { describe, expect, it } from 'vitest'

// TypeORM users are mostly on CommonJS; ESM users get typeorm's index.mjs, which re-exports the
// CommonJS module. Both builds of this package must patch that one SelectQueryBuilder, and loading
// both (as happens in mixed projects) must be harmless. Needs `npm run build` first.

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist')

/**
 * Loads both builds in a plain Node process (Node's own ESM and CommonJS loaders, no test
 * runner in between), in the given order, and reports what it saw.
 */
async function loadBothInNode(first: 'esm' | 'cjs'): Promise<Record<string, unknown>> {
  const script = `
    import { createRequire } from 'node:module'
    import { pathToFileURL } from 'node:url'
    const require = createRequire(${JSON.stringify(join(dist, 'index.cjs'))})
    const loadCjs = () => require(${JSON.stringify(join(dist, 'index.cjs'))})
    const loadEsm = () => import(pathToFileURL(${JSON.stringify(join(dist, 'index.js'))}).href)
    const cjsTypeorm = require('typeorm')
    const method = () => Object.getOwnPropertyDescriptor(cjsTypeorm.SelectQueryBuilder.prototype, 'aiterator')?.value
    const a = ${first === 'esm' ? 'await loadEsm()' : 'loadCjs()'}
    const afterFirst = method()
    const b = ${first === 'esm' ? 'loadCjs()' : 'await loadEsm()'}
    const afterSecond = method()
    a.installAiterator(); b.installAiterator()
    const esmTypeorm = await import('typeorm')
    console.log(JSON.stringify({
      sameClass: esmTypeorm.SelectQueryBuilder === cjsTypeorm.SelectQueryBuilder,
      installed: typeof afterFirst === 'function',
      unchangedBySecondBuild: afterSecond === afterFirst,
      unchangedByReinstall: method() === afterFirst,
      twoBuilds: a.aiterator !== b.aiterator,
    }))
  `
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
    cwd: join(dist, '..'),
  })
  return JSON.parse(stdout) as Record<string, unknown>
}

describe('ESM and CommonJS builds', () => {
  it.each(['cjs', 'esm'] as const)(
    'in plain Node, loading %s first: one SelectQueryBuilder, patched once',
    async (first) => {
      expect(await loadBothInNode(first)).toEqual({
        sameClass: true,
        installed: true,
        unchangedBySecondBuild: true,
        unchangedByReinstall: true,
        twoBuilds: true,
      })
    },
  )

  it('patch the one SelectQueryBuilder prototype, once, whichever loads first', async () => {
    const require = createRequire(import.meta.url)
    const cjs = require(join(dist, 'index.cjs')) as typeof import('../src/index.js')
    const fromCjs = Object.getOwnPropertyDescriptor(SelectQueryBuilder.prototype, 'aiterator')
    const finders = () =>
      [Repository.prototype, EntityManager.prototype].map(
        (proto) => Object.getOwnPropertyDescriptor(proto, 'aiterator')?.value as unknown,
      )
    const findersFromCjs = finders()
    const esm = (await import(join(dist, 'index.js'))) as typeof import('../src/index.js')
    const afterEsm = Object.getOwnPropertyDescriptor(SelectQueryBuilder.prototype, 'aiterator')

    expect(require('typeorm').SelectQueryBuilder).toBe(SelectQueryBuilder)
    expect(typeof fromCjs?.value).toBe('function')
    expect(afterEsm?.value).toBe(fromCjs?.value)
    expect(afterEsm?.enumerable).toBe(false)
    // repo.aiterator and manager.aiterator: installed by the first build, left alone by the second
    expect(findersFromCjs.map((f) => typeof f)).toEqual(['function', 'function'])
    expect(finders()).toEqual(findersFromCjs)

    cjs.installAiterator()
    esm.installAiterator()
    expect(Object.getOwnPropertyDescriptor(SelectQueryBuilder.prototype, 'aiterator')?.value).toBe(fromCjs?.value)
    expect(finders()).toEqual(findersFromCjs)
    expect(cjs.aiterator).not.toBe(esm.aiterator) // two builds really were loaded
  })

  it('refuses to replace an aiterator that another library defined', async () => {
    const { installAiterator } = (await import(join(dist, 'index.js'))) as typeof import('../src/index.js')
    const ours = Object.getOwnPropertyDescriptor(SelectQueryBuilder.prototype, 'aiterator')!
    const foreign = () => 'foreign'
    Object.defineProperty(SelectQueryBuilder.prototype, 'aiterator', {
      value: foreign,
      configurable: true,
      writable: true,
    })
    try {
      expect(() => installAiterator()).toThrow(/already defined by another library/)
      expect((SelectQueryBuilder.prototype as unknown as { aiterator: unknown }).aiterator).toBe(foreign)
    } finally {
      Object.defineProperty(SelectQueryBuilder.prototype, 'aiterator', ours)
    }
  })

  it("refuses to replace another library's Repository.prototype.aiterator, naming the class and the function form", async () => {
    const { installAiterator } = (await import(join(dist, 'index.js'))) as typeof import('../src/index.js')
    const ours = Object.getOwnPropertyDescriptor(Repository.prototype, 'aiterator')!
    const foreign = () => 'foreign'
    Object.defineProperty(Repository.prototype, 'aiterator', { value: foreign, configurable: true, writable: true })
    try {
      expect(() => installAiterator()).toThrow(
        /Repository\.prototype\.aiterator is already defined by another library; use aiteratorFind\(repo, findOptions, options\) instead/,
      )
      expect((Repository.prototype as unknown as { aiterator: unknown }).aiterator).toBe(foreign)
    } finally {
      Object.defineProperty(Repository.prototype, 'aiterator', ours)
    }
  })
})
