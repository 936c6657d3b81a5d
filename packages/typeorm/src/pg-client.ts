/** node-postgres's JavaScript client (pg/lib/client.js), as the adapter's own chunk reads use it. */
export interface NodePostgresClient {
  query(...args: unknown[]): unknown
  /** Its wire connection (pg/lib/connection.js): the protocol messages pg-cursor sends too. */
  connection: {
    describe(message: { type: 'P'; name: string }, more: boolean): void
    execute(message: { portal: string; rows: number }, more: boolean): void
    sync(): void
    stream?: { cork?(): void; uncork?(): void }
  }
}

/** `client` as node-postgres's JavaScript client, or undefined for anything else (pg-native, another driver). */
export function nodePostgresClient(client: unknown): NodePostgresClient | undefined {
  const candidate = client as Partial<NodePostgresClient> | undefined
  const connection = candidate?.connection as Partial<NodePostgresClient['connection']> | undefined
  if (typeof candidate?.query !== 'function') return undefined
  if (typeof connection?.describe !== 'function' || typeof connection.execute !== 'function' || typeof connection.sync !== 'function') return undefined
  return candidate as NodePostgresClient
}
