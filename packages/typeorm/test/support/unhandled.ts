/**
 * Records every unhandled promise rejection while it is installed (a process-wide listener), so a
 * test can assert that a prefetch left running when the loop ended never rejects into the void.
 */
export class UnhandledRejections {
  readonly reasons: unknown[] = []
  private readonly listener = (reason: unknown) => {
    this.reasons.push(reason)
  }

  constructor() {
    process.on('unhandledRejection', this.listener)
  }

  /** Lets pending rejections surface (Node reports them after the microtask queue drains), then stops listening. */
  async stop(): Promise<unknown[]> {
    await new Promise((resolve) => setTimeout(resolve, 50))
    process.removeListener('unhandledRejection', this.listener)
    return this.reasons
  }
}
