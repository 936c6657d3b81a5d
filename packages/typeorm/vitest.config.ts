import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config'

// The TypeORM version matrix. The newest line (the `typeorm` devDependency) runs every test; each older
// supported line, installed beside it through an npm alias (`typeorm-0.3`, `typeorm-1.0`), runs the
// conformance subset below with `typeorm` resolved to it everywhere: the adapter's source, the test
// entities' decorators, the drivers. So each project sees one TypeORM, as a user's project does.
// A last project runs the same subset on the newest line through TypeORM's public API only.

/** The tests the older lines and the public paths run: the type matrices, results equal getMany(), resume, SQLite. */
const conformance = [
  'test/typeorm-line.test.ts',
  'test/conformance.*.test.ts',
  'test/shapes.test.ts',
  'test/resume.test.ts',
  'test/sqlite.test.ts',
]

/** `typeorm` (and its subpaths) resolved to the npm alias of another TypeORM line. */
function typeormLine(line: string, include: string[]): TestProjectInlineConfiguration {
  return {
    extends: true,
    resolve: {
      alias: [
        { find: /^typeorm$/, replacement: `typeorm-${line}` },
        { find: /^typeorm\/(.*)$/, replacement: `typeorm-${line}/$1` },
      ],
    },
    test: { name: `typeorm ${line}`, include, env: { TYPEORM_LINE: line } },
  }
}

export default defineConfig({
  test: {
    globalSetup: ['@batchyield/test-fixtures/global-setup'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'typeorm 1.1',
          include: ['test/**/*.test.ts'],
          env: { TYPEORM_LINE: '1.1' },
          exclude: ['test/typeorm-0.3.test.ts'],
          typecheck: { include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
        },
      },
      typeormLine('0.3', [...conformance, 'test/cleanup.test.ts', 'test/typeorm-0.3.test.ts']),
      typeormLine('1.0', conformance),
      {
        extends: true,
        test: {
          name: 'typeorm 1.1 public paths',
          include: conformance,
          env: { TYPEORM_LINE: '1.1', BATCHYIELD_TYPEORM_PATHS: 'public' },
        },
      },
    ],
  },
})
