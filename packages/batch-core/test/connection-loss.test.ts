import { describe, expect, it } from 'vitest'
import { failureKind, isConnectionLoss, sqlStateOf } from '../src/index.js'

/** node-postgres's server error: SQLSTATE in `code`, beside a `severity`. */
const pg = (code: string, message: string) => Object.assign(new Error(message), { code, severity: 'ERROR' })
/** mysql2's server error: `code` is a name, `sqlState` the SQLSTATE. */
const mysql = (code: string, sqlState: string, message: string) => Object.assign(new Error(message), { code, sqlState })
const socket = (code: string) => Object.assign(new Error(`read ${code}`), { code })

describe('failureKind: what a failed statement says about its connection', () => {
  it.each([
    ['pg: the session was terminated (57P01)', pg('57P01', 'terminating connection due to administrator command')],
    [
      'pg: idle-in-transaction timeout (25P03)',
      pg('25P03', 'terminating connection due to idle-in-transaction timeout'),
    ],
    ['pg: a connection exception (08006)', pg('08006', 'connection failure')],
    ['pg: the socket reset (read ECONNRESET)', socket('ECONNRESET')],
    ['pg: writing to a closed socket', socket('EPIPE')],
    ['pg: the server could not be reached', socket('ECONNREFUSED')],
    ['pg: the socket closed', new Error('Connection terminated unexpectedly')],
    ['pg: a client known to be broken', new Error('Client has encountered a connection error and is not queryable')],
    [
      'mysql2: connection lost',
      Object.assign(new Error('Connection lost: The server closed the connection.'), {
        code: 'PROTOCOL_CONNECTION_LOST',
      }),
    ],
    ['mysql2: KILL CONNECTION', mysql('ER_CONNECTION_KILLED', '70100', 'Connection was killed')],
    ['mysql2: closed state', new Error("Can't add new command when connection is in closed state")],
  ])('lost: %s', (_, error) => {
    expect(failureKind(error)).toBe('lost')
    expect(isConnectionLoss(error)).toBe(true)
  })

  it.each([
    ['pg: statement timeout', pg('57014', 'canceling statement due to statement timeout')],
    ['pg: division by zero', pg('22012', 'division by zero')],
    ['pg: read-only transaction', pg('25006', 'cannot execute INSERT in a read-only transaction')],
    ['mysql2: KILL QUERY', mysql('ER_QUERY_INTERRUPTED', '70100', 'Query execution was interrupted')],
  ])('server (the connection works): %s', (_, error) => {
    expect(failureKind(error)).toBe('server')
    expect(isConnectionLoss(error)).toBe(false)
  })

  it.each([
    ["pg's query_timeout", new Error('Query read timeout')],
    ['anything else without a SQLSTATE', new TypeError('x is not a function')],
    ['not an error at all', 'boom'],
  ])('unknown: %s', (_, error) => {
    expect(failureKind(error)).toBe('unknown')
  })

  it("looks through the ORMs' wrappers: TypeORM's driverError, MikroORM's copied fields, a cause", () => {
    const typeorm = Object.assign(new Error('read ECONNRESET'), { driverError: socket('ECONNRESET') })
    expect(failureKind(typeorm)).toBe('lost')
    // MikroORM's DriverException copies the driver error's own fields
    const mikro = Object.assign(new Error('read ECONNRESET'), { ...socket('ECONNRESET'), name: 'DriverException' })
    expect(failureKind(mikro)).toBe('lost')
    expect(failureKind(new Error('wrapped', { cause: pg('57P01', 'terminating connection') }))).toBe('lost')
    expect(sqlStateOf(Object.assign(new Error('failed'), { driverError: pg('22012', 'division by zero') }))).toBe(
      '22012',
    )
  })

  it("a socket error's five-letter code is not a SQLSTATE", () => {
    expect(sqlStateOf(socket('EPIPE'))).toBeUndefined()
    expect(sqlStateOf(pg('40001', 'could not serialize access'))).toBe('40001')
  })
})
