import { fileURLToPath } from 'node:url'
import { defineConfig, type Plugin, type TestProjectInlineConfiguration } from 'vitest/config'

// The MikroORM version matrix. The newest line (the @mikro-orm/* devDependencies) runs every test; each
// older supported line is a private workspace under orm-lines/ (npm nests its @mikro-orm/* packages
// there, since their exact peer versions cannot share the root), and runs the conformance subset below
// with every `@mikro-orm/*` import of the tests and the adapter's source resolved from that workspace,
// plus test/sqlite.test.ts where the line has a SQLite driver. A driver MikroORM publishes only at an
// older patch of a line runs in a workspace of its own at that patch (orm-lines/mikro-orm-7.1-sqlite); on
// the newest line, whose root patch is the newest that serves every driver, a driver served at a newer patch
// runs the same way at that patch (orm-lines/mikro-orm-7.2-postgres).
// The drivers' own imports of @mikro-orm/core resolve there too (Node looks beside them), so each
// project sees one MikroORM, as a user's project does.

/** The tests the older lines run: both type matrices, results equal em.find (and getResultList()), resume. */
const conformance = ['conformance', 'correctness', 'resume', 'query-builder']

/**
 * What the older lines run besides (not the 7.2 variants, whose line runs every test): nothing left behind
 * on every way out of a loop, concurrent runs on small pools, and a raw() filter read by every chunk.
 */
const leftBehind = [
  'test/cleanup.postgres.test.ts',
  'test/cleanup.mariadb.test.ts',
  'test/concurrency.postgres.test.ts',
  'test/concurrency.mariadb.test.ts',
  'test/raw-filter.postgres.test.ts',
]

/**
 * What 7.1 runs besides: a cursor session whose end is not confirmed after pg's query_timeout is ended
 * there without a pg client (MikroORM hands out no pool before 7.2; see src/server-side-cursor.ts). Not
 * 7.0: its pg clients have no 'error' listener, so the adapter does not end the session there (a known
 * limit in the README).
 */
const heldWithoutClient = ['test/cursor-query-timeout.postgres.test.ts']

interface Line {
  /** The minor line, as in orm-lines/mikro-orm-<line>. */
  readonly line: string
  /**
   * A workspace of the line at another patch than its usual one (orm-lines/mikro-orm-<line>-<variant>): the
   * newest patch that serves a driver MikroORM publishes only at older patches of the line, or, on 7.2, the
   * newest patch of a driver served past the root's; the project is named after `patch`.
   */
  readonly variant?: { readonly name: string; readonly patch: string }
  /**
   * Databases this line is tested on. 7.1's and 7.0's newest patches publish no SQLite driver, and 7.1's none
   * for MySQL/MariaDB: those run in variants at the newest patch that does. 7.2 runs every test at the root's
   * patch (the newest with @mikro-orm/mariadb); its PostgreSQL and SQLite drivers, served at newer patches
   * that each publish only one of them, run in a variant each.
   */
  readonly dialects: readonly ('postgres' | 'mariadb' | 'sqlite')[]
  /** The package this line's SQL layer is (6.x: @mikro-orm/knex; 7.x: @mikro-orm/sql). */
  readonly sqlPackage: '@mikro-orm/knex' | '@mikro-orm/sql'
  /** The package serving MariaDB on this line (7.0, 7.1: @mikro-orm/mysql, whose driver speaks to MariaDB too). */
  readonly mariadbPackage?: '@mikro-orm/mariadb' | '@mikro-orm/mysql'
  /** Before 6.5: the tests' `@mikro-orm/core` is test/lines/define-entity.ts, the line's core with `defineEntity` and `p` added. */
  readonly withoutDefineEntity?: boolean
  /** Files of the subset this line leaves out, with the reason in the README's Supported versions. */
  readonly without?: readonly string[]
}

const lines: Line[] = [
  {
    line: '6.4',
    dialects: ['postgres', 'mariadb', 'sqlite'],
    sqlPackage: '@mikro-orm/knex',
    mariadbPackage: '@mikro-orm/mariadb',
    withoutDefineEntity: true,
  },
  {
    line: '6.5',
    dialects: ['postgres', 'mariadb', 'sqlite'],
    sqlPackage: '@mikro-orm/knex',
    mariadbPackage: '@mikro-orm/mariadb',
  },
  {
    line: '6.6',
    dialects: ['postgres', 'mariadb', 'sqlite'],
    sqlPackage: '@mikro-orm/knex',
    mariadbPackage: '@mikro-orm/mariadb',
  },
  {
    line: '7.0',
    dialects: ['postgres', 'mariadb'],
    sqlPackage: '@mikro-orm/sql',
    mariadbPackage: '@mikro-orm/mysql',
  },
  { line: '7.0', variant: { name: 'sqlite', patch: '7.0.5' }, dialects: ['sqlite'], sqlPackage: '@mikro-orm/sql' },
  { line: '7.1', dialects: ['postgres'], sqlPackage: '@mikro-orm/sql' },
  { line: '7.1', variant: { name: 'sqlite', patch: '7.1.14' }, dialects: ['sqlite'], sqlPackage: '@mikro-orm/sql' },
  {
    line: '7.1',
    variant: { name: 'mariadb', patch: '7.1.13' },
    dialects: ['mariadb'],
    sqlPackage: '@mikro-orm/sql',
    mariadbPackage: '@mikro-orm/mysql',
  },
  { line: '7.2', variant: { name: 'postgres', patch: '7.2.5' }, dialects: ['postgres'], sqlPackage: '@mikro-orm/sql' },
  { line: '7.2', variant: { name: 'sqlite', patch: '7.2.2' }, dialects: ['sqlite'], sqlPackage: '@mikro-orm/sql' },
]

const testDir = fileURLToPath(new URL('test/', import.meta.url))
const srcDir = fileURLToPath(new URL('src/', import.meta.url))

/**
 * Resolves `@mikro-orm/*` from orm-lines/mikro-orm-<line>. The tests' `@mikro-orm/sql` becomes the line's
 * SQL package, their `@mikro-orm/mariadb` the line's MariaDB driver (a shim re-exporting MySqlDriver on 7.0).
 * src/sql-package.ts require()s the SQL package from where it is installed: here, from the line's workspace.
 * On 6.x the adapter's source must not import @mikro-orm/sql (a MikroORM 6 project has none): such an
 * import fails the run.
 */
function mikroOrmLine({ line, variant, sqlPackage, mariadbPackage, withoutDefineEntity }: Line): Plugin {
  const workspace = variant === undefined ? line : `${line}-${variant.name}`
  const importer = fileURLToPath(new URL(`../../orm-lines/mikro-orm-${workspace}/package.json`, import.meta.url))
  const defineEntityShim = `${testDir}lines/define-entity.ts`
  return {
    name: `mikro-orm-${workspace}`,
    enforce: 'pre',
    async resolveId(source, from, options) {
      if (!source.startsWith('@mikro-orm/')) return null
      if (source === '@mikro-orm/sql' && sqlPackage === '@mikro-orm/knex' && from?.startsWith(srcDir)) {
        this.error(`${from} imports @mikro-orm/sql at run time, which MikroORM ${line} projects do not have`)
      }
      let target = source
      if (source === '@mikro-orm/sql') target = sqlPackage
      if (source === '@mikro-orm/mariadb' && mariadbPackage === '@mikro-orm/mysql')
        return `${testDir}lines/mariadb-as-mysql.ts`
      if (source === '@mikro-orm/core' && withoutDefineEntity && from?.startsWith(testDir) && from !== defineEntityShim)
        return defineEntityShim
      const resolved = await this.resolve(target, importer, { ...options, skipSelf: true })
      // without this, vite would resolve the import from the root: the newest MikroORM mixed into the line's run
      if (resolved === null)
        this.error(`${target} (imported by ${from}) is not installed in orm-lines/mikro-orm-${workspace}`)
      return resolved
    },
    transform(code, id) {
      if (id !== `${srcDir}sql-package.ts`) return null
      const from = 'createRequire(import.meta.url)'
      if (!code.includes(from)) this.error(`${id} no longer calls ${from}; update the mikro-orm-${workspace} plugin`)
      return code.replace(from, `createRequire(${JSON.stringify(importer)})`)
    },
  }
}

function lineProject(line: Line): TestProjectInlineConfiguration {
  const onLineDialects = (file: string) => line.dialects.some((dialect) => file.endsWith(`.${dialect}.test.ts`))
  const include = [
    ...conformance.flatMap((name) =>
      line.dialects.filter((dialect) => dialect !== 'sqlite').map((dialect) => `test/${name}.${dialect}.test.ts`),
    ),
    ...(line.line === '7.2' ? [] : leftBehind).filter(onLineDialects),
    ...(line.line === '7.1' ? heldWithoutClient : []).filter(onLineDialects),
    ...(line.dialects.includes('sqlite') ? ['test/sqlite.test.ts'] : []),
  ].filter((file) => !line.without?.includes(file))
  return {
    extends: true,
    plugins: [mikroOrmLine(line)],
    test: {
      name:
        line.variant === undefined ? `mikro-orm ${line.line}` : `mikro-orm ${line.variant.patch} ${line.variant.name}`,
      include,
      env: { MIKRO_ORM_LINE: line.line },
      typecheck: { enabled: false },
    },
  }
}

export default defineConfig({
  test: {
    globalSetup: ['@batchyield/test-fixtures/global-setup'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'mikro-orm 7.2',
          include: ['test/**/*.test.ts'],
          env: { MIKRO_ORM_LINE: '7.2' },
          typecheck: { include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
        },
      },
      ...lines.map(lineProject),
      // the subset (and SQLite) on the newest line through MikroORM's public API only: see src/internals.ts
      {
        extends: true,
        test: {
          name: 'mikro-orm 7.2 public paths',
          include: [
            ...conformance.flatMap((name) => [`test/${name}.postgres.test.ts`, `test/${name}.mariadb.test.ts`]),
            'test/sqlite.test.ts',
          ],
          env: { MIKRO_ORM_LINE: '7.2', BATCHYIELD_MIKRO_PATHS: 'public' },
        },
      },
    ],
  },
})
