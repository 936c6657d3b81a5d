import { isConnectionLoss } from '@batchyield/batch-core'
import { ConnectionException } from '@mikro-orm/core'

/**
 * The connection is gone (the session was ended by the server, the socket failed or closed), by
 * batch-core's rules shared with the TypeORM adapter (`isConnectionLoss`): it looks through
 * MikroORM's `DriverException`, whose fields are the driver error's.
 */
export function isConnectionLost(error: unknown): error is Error {
  return error instanceof Error && isConnectionLoss(error)
}

/** A MikroORM `ConnectionException` with `message` (what was lost, what to do), the driver's code, and `error` as its `cause`. */
export function connectionLostError(error: Error, message: string): ConnectionException {
  const wrapped = new ConnectionException(
    Object.assign(new Error(message), { code: (error as { code?: unknown }).code }),
  )
  wrapped.cause = error
  return wrapped
}
