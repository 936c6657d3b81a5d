import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import { join } from 'node:path'
import pg from 'pg'

/** Where and with what a benchmark ran: printed above every results table. */
export interface MachineInfo {
  cpu: string
  cores: number
  ramGiB: number
  os: string
  node: string
  postgres: string
  packages: Record<string, string>
  date: string
}

const measuredPackages = [
  'typeorm',
  '@mikro-orm/core',
  '@mikro-orm/postgresql',
  'pg',
  'pg-cursor',
  'pg-query-stream',
  '@batchyield/batch-core',
  '@batchyield/typeorm',
  '@batchyield/mikro-orm',
]

// Read the manifest from node_modules directly: not every package exports `./package.json`.
function packageVersion(name: string): string {
  for (const dir of createRequire(import.meta.url).resolve.paths(name) ?? []) {
    try {
      return (JSON.parse(readFileSync(join(dir, name, 'package.json'), 'utf8')) as { version: string }).version
    } catch {
      // not in this node_modules; try the next one up
    }
  }
  return 'not installed'
}

export async function describeMachine(url: string): Promise<MachineInfo> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const { rows } = await client.query<{ version: string }>('SELECT version()')
    return {
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cores: os.availableParallelism(),
      ramGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
      os: `${os.type()} ${os.release()} ${os.arch()}`,
      node: process.version,
      postgres: rows[0]?.version.split(',')[0] ?? 'unknown',
      packages: Object.fromEntries(measuredPackages.map((name) => [name, packageVersion(name)])),
      date: new Date().toISOString(),
    }
  } finally {
    await client.end()
  }
}
