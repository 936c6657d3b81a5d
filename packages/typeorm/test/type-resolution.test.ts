import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

// The module augmentation of 'typeorm' must reach users whatever their moduleResolution, through
// the built declaration files (ESM .d.ts and CommonJS .d.cts). Each folder in test/types is a tiny
// consumer project; `npm run build` must have run (the package's test script does). TypeScript 7
// removed moduleResolution node10, so that project is checked with TypeScript 5.9 (devDependency
// "typescript5"), which users still on node10 have.

const here = dirname(fileURLToPath(import.meta.url))
const require = createRequire(import.meta.url)
const compilers = {
  'TypeScript 7': join(dirname(require.resolve('typescript/package.json')), 'bin', 'tsc'),
  'TypeScript 5.9': join(dirname(require.resolve('typescript5/package.json')), 'bin', 'tsc'),
} as const

const projects: { project: string; compiler: keyof typeof compilers }[] = [
  { project: 'nodenext', compiler: 'TypeScript 7' },
  { project: 'nodenext', compiler: 'TypeScript 5.9' },
  { project: 'bundler', compiler: 'TypeScript 7' },
  { project: 'bundler', compiler: 'TypeScript 5.9' },
  { project: 'node10', compiler: 'TypeScript 5.9' },
]

describe.each(projects)('moduleResolution $project with $compiler', ({ project, compiler }) => {
  it('infers AsyncGenerator<User[]> with a size and AsyncGenerator<User> without', async () => {
    const result = await promisify(execFile)(
      process.execPath,
      [compilers[compiler], '-p', join(here, 'types', project, 'tsconfig.json')],
      { cwd: here },
    ).then(
      () => ({ ok: true, output: '' }),
      (error: { stdout?: string; stderr?: string }) => ({
        ok: false,
        output: `${error.stdout ?? ''}${error.stderr ?? ''}`,
      }),
    )
    expect(result.output).toBe('')
    expect(result.ok).toBe(true)
  }, 120_000)
})
