/**
 * Tests the published artefact, not the workspace: packs @batchyield/batch-core, @batchyield/typeorm and
 * @batchyield/mikro-orm as `npm publish` would (their `prepack` builds them), checks each tarball, then installs
 * the tarballs into fresh projects in a temporary directory with a plain `npm install` (so the peer ranges must
 * accept each ORM line), compiles each with its own `tsc` and runs it against PostgreSQL (`DATABASE_URL`): each
 * program streams a small table with `aiterator` and checks that every row comes exactly once. Everything else
 * comes from the npm registry. The projects (scripts/consumers/*, newest ORM line first):
 *
 *   typeorm-cjs        TypeORM 1.x, CommonJS with decorators
 *   typeorm-esm        TypeORM 1.x, ESM with EntitySchema
 *   nestjs-cjs         NestJS, CommonJS with @nestjs/typeorm
 *   typeorm-0.3-cjs    TypeORM 0.3, CommonJS with decorators
 *   mikro-orm-esm      MikroORM 7.2, ESM with defineEntity; mikro-orm-7.1-esm and mikro-orm-7.0-esm are its variants
 *   mikro-orm-6-esm    MikroORM 6.6, ESM with EntitySchema; mikro-orm-6.5-esm and mikro-orm-6.4-esm are its variants
 *
 * A variant (VARIANTS) is another project with other ORM versions pinned: the same program on another line.
 *
 *   npm run consumer-install                        # what CI runs after `npm test`
 *   npm run consumer-install -- --only nestjs-cjs   # some consumers (comma-separated)
 *   npm run consumer-install -- --keep              # keep the temporary directory to look around
 *   npm run consumer-install -- --from-clone        # pack from a fresh `git clone` of HEAD (+ `npm ci`) instead of this tree
 *
 * The programs also run on every other Node found on PATH (outside node_modules, e.g. the system's Node 20),
 * which is what backs the packages' `engines.node`. Ends with one line, `consumer-install: PASS …` or
 * `consumer-install: FAIL …`, and exit code 0 or 1.
 */
import { execFile, spawn } from 'node:child_process'
import { access, cp, mkdir, mkdtemp, readdir, readFile, realpath, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs, promisify } from 'node:util'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const PACKAGES = ['batch-core', 'typeorm', 'mikro-orm'] as const
const CONSUMERS = [
  'typeorm-cjs',
  'typeorm-esm',
  'nestjs-cjs',
  'typeorm-0.3-cjs',
  'mikro-orm-esm',
  'mikro-orm-7.1-esm',
  'mikro-orm-7.0-esm',
  'mikro-orm-6-esm',
  'mikro-orm-6.5-esm',
  'mikro-orm-6.4-esm',
] as const
/**
 * Consumers that copy another project and pin other versions of its dependencies: each supported ORM line gets a
 * plain `npm install` without a directory of its own. The newest patch of each line that the registry serves.
 */
const VARIANTS: Partial<Record<(typeof CONSUMERS)[number], { from: string; pin: Record<string, string> }>> = {
  'mikro-orm-7.1-esm': { from: 'mikro-orm-esm', pin: mikroOrm('7.1.15') },
  'mikro-orm-7.0-esm': { from: 'mikro-orm-esm', pin: mikroOrm('7.0.17') },
  'mikro-orm-6.5-esm': { from: 'mikro-orm-6-esm', pin: mikroOrm('6.5.9') },
  'mikro-orm-6.4-esm': { from: 'mikro-orm-6-esm', pin: mikroOrm('6.4.16') },
}
const started = performance.now()

const { values: args } = parseArgs({
  options: {
    only: { type: 'string' },
    keep: { type: 'boolean' },
    'from-clone': { type: 'boolean' },
    help: { type: 'boolean' },
  },
  strict: true,
})
if (args.help) {
  console.log(`usage: npm run consumer-install -- [--only ${CONSUMERS.join(',')}] [--keep] [--from-clone]`)
  process.exit(0)
}
const consumers = args.only === undefined ? [...CONSUMERS] : args.only.split(',').map((name) => name.trim())
for (const name of consumers) {
  if (!(CONSUMERS as readonly string[]).includes(name))
    finish(`unknown consumer ${JSON.stringify(name)}; known: ${CONSUMERS.join(', ')}`)
}
const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

const work = await mkdtemp(join(tmpdir(), 'batchyield-consumers-'))
let failure: string | undefined
try {
  const source = args['from-clone'] ? await freshClone() : root
  const tarballs = await pack(source)
  for (const [name, file] of tarballs) await checkTarball(name, file)
  const nodes = await nodeBinaries()
  step(`Node versions for the programs: ${nodes.map((n) => n.version).join(', ')}`)
  for (const name of consumers) await consumer(name, tarballs, nodes)
} catch (error) {
  failure = error instanceof Error ? error.message : String(error)
} finally {
  if (args.keep) console.log(`kept ${work}`)
  else await rm(work, { recursive: true, force: true })
}
finish(failure, consumers.length)

/** Packs each package with `npm pack` (which runs its prepack, the build); returns package name → tarball path. */
async function pack(source: string): Promise<Map<string, string>> {
  const destination = join(work, 'tarballs')
  await mkdir(destination)
  const tarballs = new Map<string, string>()
  for (const dir of PACKAGES) {
    step(`npm pack packages/${dir}`)
    const before = new Set(await readdir(destination))
    await run('npm', ['pack', '--pack-destination', destination, '--loglevel=warn'], join(source, 'packages', dir))
    const made = (await readdir(destination)).filter((file) => !before.has(file))
    if (made.length !== 1)
      throw new Error(`npm pack in packages/${dir} made ${made.length} tarballs (${made.join(', ')}), expected one`)
    const pkg = JSON.parse(await readFile(join(source, 'packages', dir, 'package.json'), 'utf8')) as { name: string }
    tarballs.set(pkg.name, join(destination, made[0]!))
  }
  return tarballs
}

/**
 * What a user downloads: the files package.json points at, README and LICENSE, source maps that resolve (every
 * sourceMappingURL to a shipped map, every map's sources to shipped files), metadata, and dependencies that exist
 * outside this repository.
 */
async function checkTarball(name: string, tarball: string): Promise<void> {
  const dir = join(work, 'unpacked', name)
  await mkdir(dir, { recursive: true })
  await run('tar', ['-xzf', tarball, '-C', dir], work)
  const pkgDir = join(dir, 'package')
  const pkg = JSON.parse(await readFile(join(pkgDir, 'package.json'), 'utf8')) as Record<string, any>
  const problems: string[] = []
  const files = (await readdir(pkgDir, { recursive: true })).map((f) => f.split('\\').join('/'))
  const has = (file: string) => files.includes(file.replace(/^\.\//, ''))

  for (const required of ['README.md', 'LICENSE']) if (!has(required)) problems.push(`no ${required}`)
  const entryPoints = new Set<string>(
    [pkg.main, pkg.module, pkg.types].filter((f): f is string => typeof f === 'string'),
  )
  collectTargets(pkg.exports, entryPoints)
  for (const file of entryPoints)
    if (!has(file)) problems.push(`package.json points at ${file}, which is not in the tarball`)
  for (const field of ['repository', 'homepage', 'bugs', 'license'])
    if (pkg[field] === undefined) problems.push(`no "${field}"`)
  if (pkg.repository?.directory !== undefined && !tarball.includes(pkg.repository.directory.split('/').at(-1)))
    problems.push(`repository.directory is ${pkg.repository.directory}`)
  if (typeof pkg.engines?.node !== 'string') problems.push('no engines.node')

  const publicNames = new Set(await publishableNames())
  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
    for (const [dep, spec] of Object.entries((pkg[field] ?? {}) as Record<string, string>)) {
      if (dep.startsWith('@batchyield/') && !publicNames.has(dep))
        problems.push(`${field} has ${dep}, a private workspace package`)
      if (/^(file|link|workspace):/.test(spec)) problems.push(`${field}.${dep} is ${spec}`)
    }
  }

  for (const file of files.filter((f) => /\.(c?js|d\.c?ts)$/.test(f))) {
    const text = await readFile(join(pkgDir, file), 'utf8')
    const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(text)?.[1]
    if (url === undefined) continue
    const map = join(dirname(file), url).split('\\').join('/')
    if (!has(map)) {
      problems.push(`${file} names the source map ${url}, which is not in the tarball`)
      continue
    }
    const { sources } = JSON.parse(await readFile(join(pkgDir, map), 'utf8')) as { sources: string[] }
    const missing = sources.filter((source) => !has(join(dirname(map), source).split('\\').join('/')))
    if (missing.length > 0)
      problems.push(
        `${map} maps to ${missing.length} of its ${sources.length} sources that are not in the tarball (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''})`,
      )
  }
  if (problems.length > 0) throw new Error(`${name} tarball: ${problems.join('; ')}`)
  console.log(`${name}: ${files.length} files, entry points, maps and metadata complete`)
}

/** Copies a consumer template, points its @batchyield dependencies at the tarballs, installs, compiles and runs it. */
async function consumer(
  name: string,
  tarballs: Map<string, string>,
  nodes: readonly { path: string; version: string }[],
): Promise<void> {
  const dir = join(work, 'consumers', name)
  const variant = VARIANTS[name as (typeof CONSUMERS)[number]]
  const project = variant?.from ?? name
  await cp(join(root, 'scripts', 'consumers', project), dir, { recursive: true })
  const pkgFile = join(dir, 'package.json')
  const pkg = JSON.parse(await readFile(pkgFile, 'utf8')) as { name: string; dependencies: Record<string, string> }
  for (const [dep, version] of Object.entries(variant?.pin ?? {})) {
    if (pkg.dependencies[dep] === undefined) throw new Error(`${name}: ${project} has no dependency ${dep} to pin`)
    pkg.dependencies[dep] = version
  }
  if (variant !== undefined) pkg.name = `consumer-${name}`
  const ours = Object.keys(pkg.dependencies).filter((dep) => dep.startsWith('@batchyield/'))
  for (const dep of ours) {
    const tarball = tarballs.get(dep)
    if (tarball === undefined) throw new Error(`${name}: no tarball for ${dep}`)
    pkg.dependencies[dep] = `file:${tarball}`
  }
  await writeFile(pkgFile, JSON.stringify(pkg, null, 2))

  step(`${name}: npm install`)
  await run('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=warn'], dir)
  const installed = (await readdir(join(dir, 'node_modules', '@batchyield'))).map((d) => `@batchyield/${d}`).sort()
  if (installed.join() !== [...ours].sort().join())
    throw new Error(
      `${name}: node_modules/@batchyield holds ${installed.join(', ')}; expected exactly ${ours.join(', ')}`,
    )
  for (const [dep, spec] of Object.entries(pkg.dependencies)) {
    if (!/^\d+\.\d+\.\d+$/.test(spec)) continue
    const { version } = JSON.parse(await readFile(join(dir, 'node_modules', dep, 'package.json'), 'utf8')) as {
      version: string
    }
    if (version !== spec) throw new Error(`${name}: npm installed ${dep} ${version}; package.json pins ${spec}`)
  }

  step(`${name}: tsc`)
  await run(join(dir, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], dir)

  for (const node of nodes) {
    step(`${name}: run on Node ${node.version}`)
    const output = await run(node.path, ['dist/main.js'], dir, { DATABASE_URL: databaseUrl })
    if (!output.includes(`consumer ${project} ok:`))
      throw new Error(`${name} on Node ${node.version} ended without its ok line:\n${output}`)
  }
}

/** `git clone` of HEAD and `npm ci`, for packing exactly what is committed (as a publish from CI would). */
async function freshClone(): Promise<string> {
  const dir = join(work, 'clone')
  step(`git clone (HEAD) into ${dir}`)
  await run('git', ['clone', '--quiet', '--no-hardlinks', root, dir], work)
  step('npm ci in the clone')
  await run('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=warn'], dir)
  return dir
}

/** The project's Node (this process) first, then every other Node version on PATH outside node_modules. */
async function nodeBinaries(): Promise<{ path: string; version: string }[]> {
  const found = [{ path: process.execPath, version: process.version }]
  const seen = new Set([await realpath(process.execPath)])
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '' || dir.includes('node_modules')) continue
    const candidate = join(dir, 'node')
    try {
      await access(candidate)
      const real = await realpath(candidate)
      if (seen.has(real)) continue
      seen.add(real)
      const version = (await promisify(execFile)(candidate, ['--version'])).stdout.trim()
      if (!found.some((n) => n.version === version)) found.push({ path: candidate, version })
    } catch {
      // not there, or not runnable: nothing to test with it
    }
  }
  return found
}

/** Names of the workspace packages that are not private (what may appear in a published dependency list). */
async function publishableNames(): Promise<string[]> {
  const names: string[] = []
  for (const dir of PACKAGES) {
    const pkg = JSON.parse(await readFile(join(root, 'packages', dir, 'package.json'), 'utf8')) as {
      name: string
      private?: boolean
    }
    if (pkg.private !== true) names.push(pkg.name)
  }
  return names
}

/** The packages a MikroORM consumer names, at one version (each driver pins its own SQL layer, knex or sql). */
function mikroOrm(version: string): Record<string, string> {
  return { '@mikro-orm/core': version, '@mikro-orm/postgresql': version }
}

function collectTargets(exports: unknown, into: Set<string>): void {
  if (typeof exports === 'string') into.add(exports)
  else if (exports !== null && typeof exports === 'object')
    for (const value of Object.values(exports)) collectTargets(value, into)
}

/** Runs a command; resolves with its output, rejects with the command, exit code and output. */
function run(
  command: string,
  commandArgs: readonly string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, commandArgs, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      output += text
      process.stdout.write(text)
    })
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      output += text
      process.stderr.write(text)
    })
    child.on('error', reject)
    child.on('close', (code, signal) => {
      if (code === 0) resolvePromise(output)
      else
        reject(
          new Error(
            `\`${[command.startsWith(work) ? relative(work, command) : command, ...commandArgs].join(' ')}\` in ${cwd} exited with ${code ?? signal}`,
          ),
        )
    })
  })
}

function step(text: string): void {
  console.log(`\n-- ${text} (${seconds()})`)
}

function seconds(): string {
  return `${((performance.now() - started) / 1000).toFixed(1)} s`
}

function finish(problem: string | undefined, count = 0): never {
  if (problem === undefined) {
    console.log(
      `\nconsumer-install: PASS (${PACKAGES.length} tarballs checked; ${count} consumer project(s) installed from them, compiled and run) in ${seconds()}`,
    )
    process.exit(0)
  }
  console.error(`\nconsumer-install: FAIL: ${problem} (after ${seconds()})`)
  process.exit(1)
}
