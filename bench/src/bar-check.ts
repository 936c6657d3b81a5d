import type { ModeSummary } from './summary.ts'

/** One line of the performance bar from issue 5, checked against one run's medians. */
export interface BarCheck {
  criterion: string
  measured: string
  /** undefined when a mode it needs was not measured (or failed). */
  met: boolean | undefined
}

const ratio = (a: number, b: number) => a / b
const fmt = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a')

/**
 * Checks the bar: TypeORM `aiterator` vs `getMany()`, the offset loop and the floor; MikroORM `em.aiterator`
 * vs `em.stream`, `em.find` and the floor; memory flatness between the small and the full scale; first batch
 * with keyset; and the slow consumer with and without prefetch. All ratios come from the same run.
 */
export function checkBar(summaries: readonly ModeSummary[], smallScale: number | undefined): BarCheck[] {
  const full = (mode: string) =>
    summaries.find((s) => s.mode === mode && s.limit === undefined && s.failures.length < s.runs)
  const small = (mode: string) =>
    smallScale === undefined
      ? undefined
      : summaries.find((s) => s.mode === mode && s.limit === smallScale && s.failures.length < s.runs)
  const checks: BarCheck[] = []
  const add = (
    criterion: string,
    value: number | undefined,
    met: (v: number) => boolean,
    show: (v: number) => string,
  ) => {
    if (value === undefined || !Number.isFinite(value))
      checks.push({ criterion, measured: 'not measured', met: undefined })
    else checks.push({ criterion, measured: show(value), met: met(value) })
  }
  const both = (
    a: ModeSummary | undefined,
    b: ModeSummary | undefined,
    f: (a: ModeSummary, b: ModeSummary) => number,
  ) => (a && b ? f(a, b) : undefined)

  const floor = full('floor')
  const getMany = full('typeorm-getmany')
  const skipTake = full('typeorm-skip-take')
  for (const name of [
    'typeorm-aiterator-keyset-p0',
    'typeorm-aiterator-keyset-p1',
    'typeorm-aiterator-cursor-p0',
    'typeorm-aiterator-cursor-p1',
  ]) {
    const it = full(name)
    if (it === undefined) continue
    add(
      `${name}: peak RSS <= 1/3 of typeorm-getmany`,
      both(it, getMany, (a, b) => ratio(a.maxRssBytes, b.maxRssBytes)),
      (v) => v <= 1 / 3,
      (v) => `${fmt(v)}x getMany`,
    )
    add(
      `${name}: peak RSS flat (within 15%) from ${smallScale ?? '?'} rows to full`,
      both(it, small(name), (a, b) => ratio(a.maxRssBytes, b.maxRssBytes)),
      (v) => v <= 1.15,
      (v) => `${fmt(v)}x`,
    )
    add(
      `${name}: >= 4x faster than typeorm-skip-take`,
      both(skipTake, it, (a, b) => ratio(a.wallMs, b.wallMs)),
      (v) => v >= 4,
      (v) => `${fmt(v, 1)}x faster`,
    )
    add(
      `${name}: wall time <= typeorm-getmany`,
      both(it, getMany, (a, b) => ratio(a.wallMs, b.wallMs)),
      (v) => v <= 1,
      (v) => `${fmt(v)}x getMany`,
    )
    add(
      `${name}: wall time <= 2x floor`,
      both(it, floor, (a, b) => ratio(a.wallMs, b.wallMs)),
      (v) => v <= 2,
      (v) => `${fmt(v)}x floor`,
    )
  }
  const emStream = full('mikro-stream')
  const emFind = full('mikro-find')
  for (const name of ['mikro-aiterator-keyset', 'mikro-aiterator-cursor']) {
    const it = full(name)
    if (it === undefined) continue
    const perEntity = (s: ModeSummary) => s.wallMs / s.rows
    add(
      `${name}: time per entity <= mikro-stream`,
      both(it, emStream, (a, b) => ratio(perEntity(a), perEntity(b))),
      (v) => v <= 1,
      (v) => `${fmt(v)}x em.stream`,
    )
    add(
      `${name}: faster than mikro-find`,
      both(it, emFind, (a, b) => ratio(a.wallMs, b.wallMs)),
      (v) => v < 1,
      (v) => `${fmt(v)}x em.find`,
    )
    add(
      `${name}: peak RSS flat (within 15%) from ${smallScale ?? '?'} rows to full`,
      both(it, small(name), (a, b) => ratio(a.maxRssBytes, b.maxRssBytes)),
      (v) => v <= 1.15,
      (v) => `${fmt(v)}x`,
    )
    add(
      `${name}: wall time <= 3x floor`,
      both(it, floor, (a, b) => ratio(a.wallMs, b.wallMs)),
      (v) => v <= 3,
      (v) => `${fmt(v)}x floor`,
    )
  }
  for (const name of ['typeorm-aiterator-keyset-p1', 'typeorm-aiterator-keyset-p0', 'mikro-aiterator-keyset']) {
    const it = full(name)
    if (it === undefined) continue
    add(
      `${name}: first batch < 50 ms`,
      it.firstBatchMs,
      (v) => v < 50,
      (v) => `${fmt(v, 1)} ms`,
    )
  }
  const slow0 = full('slow-typeorm-keyset-p0')
  const slow1 = full('slow-typeorm-keyset-p1')
  if (slow0 || slow1)
    add(
      'slow consumer: prefetch 1 finishes >= 30% sooner than prefetch 0',
      both(slow1, slow0, (a, b) => 1 - ratio(a.wallMs, b.wallMs)),
      (v) => v >= 0.3,
      (v) => `${fmt(v * 100, 1)}% sooner`,
    )
  const slowMikro0 = full('slow-mikro-keyset-p0')
  const slowMikro1 = full('slow-mikro-keyset-p1')
  if (slowMikro0 && slowMikro1) {
    add(
      'slow consumer (MikroORM): prefetch 1 finishes >= 30% sooner than prefetch 0',
      1 - ratio(slowMikro1.wallMs, slowMikro0.wallMs),
      (v) => v >= 0.3,
      (v) => `${fmt(v * 100, 1)}% sooner`,
    )
  }
  return checks
}
