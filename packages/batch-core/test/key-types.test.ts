import { describe, expect, it } from 'vitest'
import { isExactKeyValue, keyType, keyValueKind, normalizeColumnType } from '../src/index.js'

describe('normalizeColumnType', () => {
  it.each([
    ["ENUM('zeta','alpha')", 'enum'],
    ['varchar(255)', 'varchar'],
    ['int unsigned zerofill', 'int'],
    ['numeric(30, 10)', 'numeric'],
    ['timestamp(6) with time zone', 'timestamptz'],
    ['TIMESTAMP WITHOUT TIME ZONE', 'timestamp'],
    ['time(3) with time zone', 'timetz'],
    ['double precision', 'double precision'],
    ['int4[]', 'array'],
    ['_text', 'array'],
  ])('%s is %s', (raw, normalized) => {
    expect(normalizeColumnType(raw)).toBe(normalized)
  })
})

describe('keyType on PostgreSQL', () => {
  it('reads every ordered type as text and compares the column itself', () => {
    for (const type of [
      'integer',
      'bigint',
      'numeric(30,10)',
      'real',
      'double precision',
      'timestamptz',
      'date',
      'interval',
      'uuid',
      'bytea',
      'jsonb',
      'int4[]',
      'inet',
      'mood',
    ]) {
      const rule = keyType('postgresql', type)
      expect(rule.kind, type).toBe('exact')
      if (rule.kind !== 'exact') continue
      expect(rule.read('"t"."c"')).toBe('CAST("t"."c" AS text)')
      expect(rule.compare('"t"."c"')).toBe('"t"."c"')
      expect(rule.comparesColumn).toBe(true)
    }
  })

  it.each(['json', 'xml', 'point', 'polygon'])('refuses %s, which has no ordering', (type) => {
    const rule = keyType('postgresql', type)
    expect(rule.kind).toBe('refused')
    if (rule.kind === 'refused') expect(rule.reason).toContain(`${type} has no ordering on PostgreSQL`)
  })

  it('trusts hydrated values only where they round-trip: numbers of floats, not of numerics; Dates never', () => {
    const double = keyType('postgresql', 'float8')
    const numeric = keyType('postgresql', 'numeric')
    const stamp = keyType('postgresql', 'timestamp')
    const bigint = keyType('postgresql', 'int8')
    if (double.kind !== 'exact' || numeric.kind !== 'exact' || stamp.kind !== 'exact' || bigint.kind !== 'exact')
      throw new Error('expected exact rules')
    expect(isExactKeyValue(double, 0.30000000000000004)).toBe(true)
    expect(isExactKeyValue(numeric, 0.1)).toBe(false)
    expect(isExactKeyValue(numeric, '0.1000000000')).toBe(true)
    expect(isExactKeyValue(stamp, new Date())).toBe(false)
    expect(isExactKeyValue(bigint, 2 ** 53 + 2)).toBe(false)
    expect(isExactKeyValue(bigint, '9007199254740993')).toBe(true)
    expect(isExactKeyValue(stamp, null)).toBe(true)
  })
})

describe('keyType on MariaDB/MySQL', () => {
  it('seeks ENUM and SET by their index, which is what ORDER BY sorts by', () => {
    for (const type of ["enum('zeta','alpha','mid')", 'set', 'simple-enum']) {
      const rule = keyType('mysql', type)
      if (rule.kind !== 'exact') throw new Error(type)
      expect(rule.read('`t`.`e`')).toBe('(`t`.`e` + 0)')
      expect(rule.compare('`t`.`e`')).toBe('(`t`.`e` + 0)')
      expect(rule.comparesColumn).toBe(false)
      expect(isExactKeyValue(rule, 'alpha')).toBe(false)
    }
  })

  it.each([
    ['float', 'CAST(CAST(`c` AS DOUBLE) AS CHAR)'],
    ['double', 'CAST(`c` AS CHAR)'],
    ['decimal(30,10)', 'CAST(`c` AS CHAR)'],
    ['bigint unsigned', 'CAST(`c` AS CHAR)'],
    ['datetime(6)', 'CAST(`c` AS CHAR)'],
    ['json', 'CAST(`c` AS CHAR)'],
    ['bit(1)', '(`c` + 0)'],
    ['int', '`c`'],
    ['varbinary(16)', '`c`'],
    ['varchar(40)', '`c`'],
  ])('reads %s as %s and compares the column itself', (type, read) => {
    const rule = keyType('mysql', type)
    if (rule.kind !== 'exact') throw new Error(type)
    expect(rule.read('`c`')).toBe(read)
    expect(rule.compare('`c`')).toBe('`c`')
  })

  it('never trusts a JS number of a FLOAT, DOUBLE or BIT (mysql2 parses them lossily or as bytes)', () => {
    for (const type of ['float', 'double', 'bit']) {
      const rule = keyType('mysql', type)
      if (rule.kind !== 'exact') throw new Error(type)
      expect(isExactKeyValue(rule, 0.3)).toBe(false)
      expect(isExactKeyValue(rule, 1)).toBe(false)
    }
  })
})

describe('keyValueKind', () => {
  it.each([
    [1, 'integer'],
    [0.5, 'number'],
    [2 ** 60, 'number'],
    ['x', 'string'],
    [1n, 'bigint'],
    [true, 'boolean'],
    [new Uint8Array([1]), 'buffer'],
    [new Date(0), undefined],
    [{ a: 1 }, undefined],
  ])('%s is %s', (value, kind) => {
    expect(keyValueKind(value)).toBe(kind)
  })
})
