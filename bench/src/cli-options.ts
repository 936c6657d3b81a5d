import { parseArgs, type ParseArgsOptionsConfig } from 'node:util'

/**
 * Reads a whole-number command-line option (`_` separators allowed, `1_000_000`): `fallback` when absent,
 * else the value, or a TypeError naming the option and what it received.
 *
 * @example
 * positiveInteger('rows', '1_000_000', 1000) // 1000000
 * positiveInteger('rows', undefined, 1000)   // 1000
 * positiveInteger('small', '0', 100, true)  // 0
 */
export function positiveInteger(option: string, text: string | undefined, fallback: number, allowZero = false): number {
  if (text === undefined) return fallback
  const value = Number(text.replaceAll('_', ''))
  if (!Number.isSafeInteger(value) || value < (allowZero ? 0 : 1)) {
    throw new TypeError(
      `--${option} must be a ${allowZero ? 'non-negative' : 'positive'} integer, received ${JSON.stringify(text)}`,
    )
  }
  return value
}

const helpOption = { help: { type: 'boolean', short: 'h' } } as const

/**
 * Parses this process's arguments strictly against `options` plus `-h/--help`; with `--help`, prints `help`
 * and exits 0. Returns the parsed option values.
 *
 * @example
 * const values = parseCommandLine('Usage: npm run soak -- [options]\n', { rows: { type: 'string' } })
 * const rows = positiveInteger('rows', values.rows, 1_000_000)
 */
export function parseCommandLine<const Options extends ParseArgsOptionsConfig>(help: string, options: Options) {
  const { values } = parseArgs<{ options: Options & typeof helpOption; strict: true; allowPositionals: false }>({
    options: { ...options, ...helpOption },
    strict: true,
    allowPositionals: false,
  })
  if ((values as { help?: boolean }).help) {
    process.stdout.write(help)
    process.exit(0)
  }
  return values
}
