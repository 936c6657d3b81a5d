import { describe, expectTypeOf, it } from 'vitest'
import {
  decodeResumeToken,
  encodeResumeToken,
  type KeyShape,
  type SeekPredicate,
  seekPredicate,
  type SortKey,
} from '../src/index.js'

describe('keyset helper types', () => {
  it('seekPredicate takes sort keys and values and returns a SeekPredicate', () => {
    expectTypeOf(seekPredicate).parameters.toEqualTypeOf<[readonly SortKey[], readonly unknown[]]>()
    expectTypeOf(seekPredicate([{ field: 'id', direction: 'asc', nulls: 'last' }], [1])).toEqualTypeOf<SeekPredicate>()
  })

  it('SeekPredicate narrows on kind, so adapters can switch over it exhaustively', () => {
    const render = (p: SeekPredicate): string => {
      switch (p.kind) {
        case 'or':
        case 'and':
          expectTypeOf(p.terms).toEqualTypeOf<readonly SeekPredicate[]>()
          return p.kind
        case 'compare':
          expectTypeOf(p.op).toEqualTypeOf<'<' | '>' | '='>()
          expectTypeOf(p.value).toBeUnknown()
          return p.field
        case 'isNull':
        case 'isNotNull':
          return p.field
        case 'false':
          return 'false'
      }
    }
    expectTypeOf(render).returns.toBeString()
  })

  it('a const shape literal is a KeyShape; tokens are strings and decode to unknown[]', () => {
    const shape = {
      keys: [{ field: 'id', direction: 'asc', nulls: 'last', nullable: false }],
      fingerprint: 'Book',
    } as const
    expectTypeOf(shape).toExtend<KeyShape>()
    expectTypeOf(encodeResumeToken(shape, [1])).toBeString()
    expectTypeOf(decodeResumeToken('x', shape)).toEqualTypeOf<unknown[]>()
    // @ts-expect-error direction must be 'asc' | 'desc'
    seekPredicate([{ field: 'id', direction: 'up', nulls: 'last' }], [1])
    // @ts-expect-error nulls is required
    seekPredicate([{ field: 'id', direction: 'asc' }], [1])
  })
})
