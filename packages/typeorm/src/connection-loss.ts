import { isConnectionLoss as lostByCoreRules } from '@batchyield/batch-core'

/**
 * The server ended the session or the socket failed under the query, by batch-core's rules
 * shared with the MikroORM adapter (`isConnectionLoss`: PostgreSQL SQLSTATE class 08, 57P0x,
 * 25P03; MariaDB/MySQL killed or lost connections; socket errors such as `ECONNRESET`; the
 * drivers' "Connection terminated" and "closed state"). Looks through TypeORM's
 * `QueryFailedError` to its `driverError`.
 */
export function isConnectionLoss(error: unknown): boolean {
  return lostByCoreRules(error)
}
