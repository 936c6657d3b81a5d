/** How an exported row is written: one NDJSON object per line, or CSV with a header. */
export type ExportFormat = 'ndjson' | 'csv'

export const exportFormats: readonly ExportFormat[] = ['ndjson', 'csv']

function csvField(value: unknown): string {
  const text =
    value instanceof Date
      ? value.toISOString()
      : typeof value === 'object' && value !== null
        ? JSON.stringify(value)
        : String(value ?? '')
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

/**
 * Turns a batch of entities into the text to append to the file (and, for CSV, the header line first when
 * `withHeader`). CSV writes `columns` in that order; NDJSON writes each entity's own JSON.
 *
 * @example
 * stream.write(formatBatch('csv', batch, isFirstBatch, ['id', 'kind', 'amount']))
 */
export function formatBatch(
  format: ExportFormat,
  batch: readonly object[],
  withHeader: boolean,
  columns: readonly string[],
): string {
  if (format === 'ndjson') return batch.map((entity) => `${JSON.stringify(entity)}\n`).join('')
  const lines = batch.map((entity) => columns.map((c) => csvField((entity as Record<string, unknown>)[c])).join(','))
  return `${withHeader ? `${columns.join(',')}\n` : ''}${lines.join('\n')}\n`
}
