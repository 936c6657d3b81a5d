import type { CursorConnection } from '../src/index.js'

/** A statement the scripted connection was asked to send, still pending until the test settles it. */
export interface SentStatement {
  readonly name: 'begin' | 'declare' | 'fetch' | 'closeCursor' | 'commit' | 'rollback'
  readonly count?: number
  resolve(value?: unknown): void
  reject(error: unknown): void
}

/**
 * A {@link CursorConnection} driven by the test: each statement is logged and waits until the
 * test settles it (or answers at once, per `auto`), so every interleaving can be scripted.
 */
export class ScriptedCursor implements CursorConnection<number> {
  /** What happened, in order: statements sent, `cancel`, `cancel done`, `release`/`destroy`. */
  readonly log: string[] = []
  readonly sent: SentStatement[] = []
  releases: ({ reason: unknown } | undefined)[] = []
  /** Answers statements at once: rows for a FETCH (`count` numbers), nothing for the others. */
  auto = true
  /** What the next FETCH does when answered automatically. */
  rowsLeft = Number.POSITIVE_INFINITY
  /** Called when cancel() is; by default a cancel makes the running statement fail as PostgreSQL's does. */
  onCancel: (() => void) | undefined = () =>
    this.pending()?.reject(serverError('57014', 'canceling statement due to user request'))
  /** Resolves the cancel request itself (default: at once). */
  cancelDelivered: Promise<void> = Promise.resolve()
  /** Set to make cancel() absent. */
  canCancel = true

  begin(): Promise<void> {
    return this.#send('begin') as Promise<void>
  }
  declare(): Promise<void> {
    return this.#send('declare') as Promise<void>
  }
  fetch(count: number): Promise<number[]> {
    return this.#send('fetch', count) as Promise<number[]>
  }
  closeCursor(): Promise<void> {
    return this.#send('closeCursor') as Promise<void>
  }
  commit(): Promise<void> {
    return this.#send('commit') as Promise<void>
  }
  rollback(): Promise<void> {
    return this.#send('rollback') as Promise<void>
  }
  get cancel(): (() => Promise<void>) | undefined {
    if (!this.canCancel) return undefined
    return async () => {
      this.log.push('cancel')
      this.onCancel?.()
      await this.cancelDelivered
      this.log.push('cancel done')
    }
  }
  release(destroy: { reason: unknown } | undefined): void {
    this.log.push(destroy === undefined ? 'release' : 'destroy')
    this.releases.push(destroy)
  }

  /** The statement sent last, if it has not settled. */
  pending(): SentStatement | undefined {
    const last = this.sent.at(-1)
    return last !== undefined && !settled.has(last) ? last : undefined
  }

  /** The names of the statements sent, in order. */
  get statements(): string[] {
    return this.sent.map((s) => s.name)
  }

  #send(name: SentStatement['name'], count?: number): Promise<unknown> {
    this.log.push(name)
    return new Promise((resolve, reject) => {
      const statement: SentStatement = {
        name,
        count,
        resolve: (value) => {
          settled.add(statement)
          resolve(value)
        },
        reject: (error) => {
          settled.add(statement)
          reject(error)
        },
      }
      this.sent.push(statement)
      if (!this.auto) return
      if (name !== 'fetch') return statement.resolve(undefined)
      const n = Math.min(count!, this.rowsLeft)
      this.rowsLeft -= n
      statement.resolve(Array.from({ length: n }, (_, i) => i))
    })
  }
}

const settled = new WeakSet<SentStatement>()

/** An error as node-postgres reports a server's: a SQLSTATE `code` beside a `severity`. */
export function serverError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code, severity: 'ERROR' })
}

/** A socket error as Node reports it. */
export function socketError(code: string): Error {
  return Object.assign(new Error(`read ${code}`), { code })
}

/** Lets pending promise callbacks run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
}
