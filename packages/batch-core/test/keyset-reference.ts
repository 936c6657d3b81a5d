// Test-only models of what a database does with a SortKey list and a SeekPredicate, so the
// predicate can be checked against an independent definition of "sorts after".
import fc from 'fast-check'
import type { SeekPredicate, SortKey } from '../src/keyset-types.js'

export type Row = Readonly<Record<string, unknown>>

/** ORDER BY as a database applies it: per key, NULLs where `nulls` says, others by `direction`. */
export function compareByKeys(keys: readonly SortKey[]): (a: Row, b: Row) => number {
  return (a, b) => {
    for (const key of keys) {
      const x = a[key.field]
      const y = b[key.field]
      if (x === null && y === null) continue
      if (x === null) return key.nulls === 'first' ? -1 : 1
      if (y === null) return key.nulls === 'first' ? 1 : -1
      const c = compareValues(x, y)
      if (c !== 0) return key.direction === 'asc' ? c : -c
    }
    return 0
  }
}

function compareValues(x: unknown, y: unknown): number {
  if (x instanceof Date && y instanceof Date) return Math.sign(x.getTime() - y.getTime())
  return (x as number) < (y as number) ? -1 : (x as number) > (y as number) ? 1 : 0
}

/** SQL three-valued logic: true, false or null (unknown). A WHERE keeps a row only on true. */
export function evaluate(p: SeekPredicate, row: Row): boolean | null {
  switch (p.kind) {
    case 'false':
      return false
    case 'isNull':
      return row[p.field] === null
    case 'isNotNull':
      return row[p.field] !== null
    case 'compare': {
      const v = row[p.field]
      if (v === null || p.value === null) return null
      const c = compareValues(v, p.value)
      return p.op === '>' ? c > 0 : p.op === '<' ? c < 0 : c === 0
    }
    case 'and': {
      const results = p.terms.map((t) => evaluate(t, row))
      if (results.includes(false)) return false
      return results.includes(null) ? null : true
    }
    case 'or': {
      const results = p.terms.map((t) => evaluate(t, row))
      if (results.includes(true)) return true
      return results.includes(null) ? null : false
    }
  }
}

export function matchesSeek(p: SeekPredicate, row: Row): boolean {
  return evaluate(p, row) === true
}

/** Every structural promise of SeekPredicate; returns the violations (empty when fine). */
export function structuralProblems(p: SeekPredicate, top = true): string[] {
  switch (p.kind) {
    case 'false':
      return top ? [] : ['false nested inside and/or']
    case 'isNull':
    case 'isNotNull':
      return []
    case 'compare':
      return p.value === null || p.value === undefined ? [`compare ${p.field} ${p.op} ${String(p.value)}`] : []
    case 'and':
    case 'or': {
      const own = p.terms.length < 2 ? [`${p.kind} with ${p.terms.length} terms`] : []
      const nested = p.terms.filter((t) => t.kind === p.kind).map(() => `${p.kind} directly inside ${p.kind}`)
      return [...own, ...nested, ...p.terms.flatMap((t) => structuralProblems(t, false))]
    }
  }
}

/** Sort keys and rows for them (the properties of seek-predicate and keyset-range tests). */
export interface Spec {
  readonly keys: SortKey[]
  readonly rows: Row[]
}

const keySpec = (field: string) =>
  fc.record({
    field: fc.constant(field),
    direction: fc.constantFrom('asc' as const, 'desc' as const),
    nulls: fc.constantFrom('first' as const, 'last' as const),
    nullable: fc.constantFrom(true, false, undefined),
    kind: fc.constantFrom('int' as const, 'string' as const),
  })

/** 1–3 non-unique keys over tiny domains (many ties and NULLs), then rows for them; `id` (unique) appended as the last key when `withTieBreaker`. */
export const specs = (withTieBreaker: boolean): fc.Arbitrary<Spec> =>
  fc
    .tuple(
      fc.integer({ min: 1, max: 3 }),
      fc.constantFrom('asc' as const, 'desc' as const),
      fc.constantFrom('first' as const, 'last' as const),
    )
    .chain(([n, idDirection, idNulls]) =>
      fc.tuple(
        fc.tuple(...Array.from({ length: n }, (_, i) => keySpec(`k${i}`))),
        fc.constant(idDirection),
        fc.constant(idNulls),
      ),
    )
    .chain(([specsOfKeys, idDirection, idNulls]) => {
      const value = (s: (typeof specsOfKeys)[number]) => {
        const plain: fc.Arbitrary<number | string> =
          s.kind === 'int' ? fc.integer({ min: -2, max: 2 }) : fc.constantFrom('', 'a', 'B', 'ab', 'ä')
        return s.nullable === false ? plain : fc.option(plain, { nil: null, freq: 3 })
      }
      const row = fc.tuple(...specsOfKeys.map(value))
      return fc.array(row, { maxLength: 25 }).map((tuples): Spec => {
        const keys: SortKey[] = specsOfKeys.map(({ field, direction, nulls, nullable }) =>
          nullable === undefined ? { field, direction, nulls } : { field, direction, nulls, nullable },
        )
        const rows = tuples.map((t, i) => Object.fromEntries([...keys.map((k, j) => [k.field, t[j]]), ['id', i]]))
        if (withTieBreaker) keys.push({ field: 'id', direction: idDirection, nulls: idNulls, nullable: false })
        return { keys, rows }
      })
    })

/** A row's key values, in key order. */
export const valuesOf = (keys: readonly SortKey[], row: Row): unknown[] => keys.map((k) => row[k.field])
