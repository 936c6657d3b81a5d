import 'reflect-metadata'
import BetterSqlite3 from 'better-sqlite3'
import { Column, DataSource, Entity, PrimaryColumn } from 'typeorm'
import { expect, it } from 'vitest'
import { pathsOf } from '../src/internals.js'

// Each project of the version matrix (vitest.config.ts) runs on the TypeORM line it names, and on
// the paths the README states for it: the fast paths on every tested line, the public ones when
// BATCHYIELD_TYPEORM_PATHS=public.

@Entity('line_probe')
class LineProbe {
  @PrimaryColumn({ type: 'integer' })
  id!: number

  @Column({ type: 'text' })
  name!: string
}

it('runs on the TypeORM line its project names', async () => {
  const { default: pkg } = (await import('typeorm/package.json', { with: { type: 'json' } })) as {
    default: { version: string }
  }
  expect(pkg.version.startsWith(`${process.env.TYPEORM_LINE}.`), `TypeORM ${pkg.version}`).toBe(true)
})

it('takes the paths the README states for the line, found without a statement', async () => {
  const statements: string[] = []
  const dataSource = await new DataSource({
    type: 'better-sqlite3',
    database: ':memory:',
    driver: BetterSqlite3,
    entities: [LineProbe],
    synchronize: true,
  }).initialize()
  try {
    dataSource.logger.logQuery = (query: string) => void statements.push(query)
    const paths = await pathsOf(dataSource.getRepository(LineProbe).createQueryBuilder('p'))
    const expected = process.env.BATCHYIELD_TYPEORM_PATHS === 'public' ? 'public' : 'fast'
    expect(paths).toEqual({ keyset: expected, cursor: expected })
    expect(statements, 'the probes send nothing when the overrides are honoured').toEqual([])
  } finally {
    await dataSource.destroy()
  }
})
