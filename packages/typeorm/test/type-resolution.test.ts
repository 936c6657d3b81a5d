import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

// The module augmentation of 'typeorm' must reach users whatever their moduleResolution, through
// the built declaration files (ESM .d.ts and CommonJS .d.cts). Each folder in test/types is a tiny
// consumer project; `npm run build` must have run (the package's test script does).

const here = dirname(fileURLToPath(import.meta.url))
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')

describe.each(['nodenext', 'bundler', 'node10'])('moduleResolution %s', (project) => {
  it('infers AsyncGenerator<User[]> with a size and AsyncGenerator<User> without', async () => {
    const result = await promisify(execFile)(process.execPath, [tsc, '-p', join(here, 'types', project, 'tsconfig.json')], { cwd: here }).then(
      () => ({ ok: true, output: '' }),
      (error: { stdout?: string; stderr?: string }) => ({ ok: false, output: `${error.stdout ?? ''}${error.stderr ?? ''}` }),
    )
    expect(result.output).toBe('')
    expect(result.ok).toBe(true)
  }, 120_000)
})
