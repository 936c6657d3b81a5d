import { afterEach, describe, expect, it, vi } from 'vitest'
import { databaseNameOf, databaseUrls, dialectOf, redactUrl, withDatabaseName } from '@batchyield/test-fixtures'

describe('databaseUrls', () => {
  afterEach(() => {
    vi.unstubAllEnvs()
  })

  it('falls back to the documented defaults when DATABASE_URL / MARIADB_URL are unset or empty', () => {
    vi.stubEnv('DATABASE_URL', '')
    vi.stubEnv('MARIADB_URL', '')
    expect(databaseUrls.postgres).toBe('postgres://postgres@127.0.0.1:5432/test')
    expect(databaseUrls.mariadb).toBe('mysql://root@127.0.0.1:3306/test')
  })

  it('reads the environment at access time', () => {
    vi.stubEnv('DATABASE_URL', 'postgres://u@db.example:6543/other')
    vi.stubEnv('MARIADB_URL', 'mariadb://r@m.example:3307/x')
    expect(databaseUrls.postgres).toBe('postgres://u@db.example:6543/other')
    expect(databaseUrls.mariadb).toBe('mariadb://r@m.example:3307/x')
  })
})

describe('URL helpers', () => {
  it('infers the dialect from the scheme and names the bad scheme otherwise', () => {
    expect(dialectOf('postgresql://x/y')).toBe('postgres')
    expect(dialectOf('postgres://x/y')).toBe('postgres')
    expect(dialectOf('mysql://x/y')).toBe('mariadb')
    expect(dialectOf('mariadb://x/y')).toBe('mariadb')
    expect(() => dialectOf('sqlite://x/y')).toThrow(/Unsupported database URL scheme "sqlite:"/)
    expect(() => dialectOf('not a url')).toThrow(TypeError)
  })

  it('swaps the database name and keeps credentials and query string', () => {
    const url = withDatabaseName('postgres://user:p%40ss@h:5432/test?sslmode=disable', 'by_1')
    expect(url).toBe('postgres://user:p%40ss@h:5432/by_1?sslmode=disable')
    expect(databaseNameOf(url)).toBe('by_1')
    expect(databaseNameOf('postgres://h:5432')).toBeUndefined()
  })

  it('masks the password in URLs meant for messages', () => {
    expect(redactUrl('postgres://user:secret@h:5432/test')).toBe('postgres://user:***@h:5432/test')
    expect(redactUrl('mysql://root@h:3306/test')).toBe('mysql://root@h:3306/test')
  })
})
