/** What each ORM's export job does and reports; the app module provides one under {@link EXPORT_JOB}. */
export interface ExportJob {
  run(options: ExportOptions): Promise<ExportReport>
}

export interface ExportOptions {
  /** Events per batch handed to the job's loop (`batchYieldSize`). */
  readonly batchSize: number
  /** Rows per database round trip (`chunkSize`). */
  readonly chunkSize: number
}

export interface ExportReport {
  readonly job: string
  readonly rows: number
  readonly batches: number
}

/** The injection token of the app's export job. */
export const EXPORT_JOB = Symbol('EXPORT_JOB')

/**
 * Where a batch goes once it is "sent": one row per event, keyed by (job, event), so an event exported twice
 * fails the insert. A real job would call an API or write a file first; the ledger is what makes it resumable
 * and checkable.
 */
export const LEDGER_TABLE = `CREATE TABLE IF NOT EXISTS export_ledger (
  job text NOT NULL,
  event_id bigint NOT NULL,
  batch_no int NOT NULL,
  PRIMARY KEY (job, event_id)
)`
