import { parse, View } from 'vega'
import { compile, type TopLevelSpec } from 'vega-lite'
import type { ModeSummary } from './summary.ts'

/**
 * Renders wall time and peak RSS per mode as two labelled bar charts side by side, to SVG, headless:
 * vega-lite compiles to a vega spec and vega's `View.toSVG()` draws it without a canvas.
 */
export async function renderChartSvg(
  summaries: readonly ModeSummary[],
  library: Record<string, string>,
  title: string,
): Promise<string> {
  const values = summaries
    .filter((s) => Number.isFinite(s.wallMs))
    .map((s) => ({
      mode: s.label,
      library: library[s.mode] ?? '',
      seconds: Math.round(s.wallMs) / 1000,
      mib: Math.round(s.maxRssBytes / 1024 / 1024),
    }))
  const order = values.map((v) => v.mode)
  const panel = (field: 'seconds' | 'mib', axisTitle: string, format: string, showModes: boolean) => ({
    width: 340,
    height: { step: 18 },
    encoding: {
      y: {
        field: 'mode',
        type: 'nominal' as const,
        sort: order,
        title: null,
        axis: showModes ? { labelLimit: 320 } : null,
      },
      x: { field, type: 'quantitative' as const, title: axisTitle },
    },
    layer: [
      {
        mark: { type: 'bar' as const },
        encoding: { color: { field: 'library', type: 'nominal' as const, title: 'Library' } },
      },
      {
        mark: { type: 'text' as const, align: 'left' as const, dx: 3, fontSize: 10 },
        encoding: { text: { field, type: 'quantitative' as const, format } },
      },
    ],
  })
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    data: { values },
    background: 'white',
    hconcat: [
      panel('seconds', 'Wall time (s, median; lower is better)', '.2f', true),
      panel('mib', 'Peak RSS (MiB, median; lower is better)', 'd', false),
    ],
  }
  const view = new View(parse(compile(spec).spec), { renderer: 'none' })
  try {
    return await view.toSVG()
  } finally {
    view.finalize()
  }
}
