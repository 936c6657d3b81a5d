import type { MachineInfo } from './machine.ts'

/** Milliseconds as `12.3 ms`, `4.56 s` or `78.9 s`; `n/a` for NaN (a mode with no successful run). */
export const formatMs = (x: number): string =>
  Number.isFinite(x)
    ? x >= 10_000
      ? `${(x / 1000).toFixed(1)} s`
      : x >= 1000
        ? `${(x / 1000).toFixed(2)} s`
        : `${x.toFixed(1)} ms`
    : 'n/a'

/** Bytes as whole MiB, e.g. `291 MiB`; `n/a` for NaN. */
export const formatWholeMiB = (x: number): string => (Number.isFinite(x) ? `${Math.round(x / 1024 / 1024)} MiB` : 'n/a')

/** A count rounded and grouped, e.g. `1,000,000`; `n/a` for NaN. */
export const formatCount = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a')

/**
 * The Markdown bullet list every results file starts with: date, machine, Node (and the child processes'
 * flags), PostgreSQL and the measured packages' versions.
 *
 * @example
 * lines.push(...machineLines(await describeMachine(url), ['--max-old-space-size=16384']))
 */
export function machineLines(machine: MachineInfo, nodeArgs: readonly string[]): string[] {
  return [
    `- Date: ${machine.date}`,
    `- Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.ramGiB} GiB RAM, ${machine.os}`,
    `- Node ${machine.node}${nodeArgs.length ? ` (child flags: \`${nodeArgs.join(' ')}\`)` : ''}; ${machine.postgres}`,
    `- Packages: ${Object.entries(machine.packages)
      .map(([name, version]) => `${name} ${version}`)
      .join(', ')}`,
  ]
}
