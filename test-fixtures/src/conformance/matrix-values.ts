/**
 * The values the type matrix stores, per column type: each pool holds near-duplicates (values one
 * ulp, one microsecond, one last digit, one case or accent apart), values that compare equal but are
 * written differently, and each type's extremes. Values are the SQL input text the server parses
 * (PostgreSQL casts each parameter to the column's type; MariaDB converts it on insert).
 *
 * The rows ({@link matrixRows}) repeat pool values and add NULLs, so every column also has exact
 * duplicates, broken by the primary key.
 */
import { doubleNeighbourhood, float32Neighbourhood } from '#src/conformance/ulp'

/** The SQL input text of each value a column may hold (NULL is added by the row generator). */
export type ValuePool = readonly string[]

const text = (values: readonly number[]): string[] => values.map((v) => (Object.is(v, -0) ? '-0' : String(v)))

/** 64-bit integers around 2^53 (where a JS number stops being exact) and at both ends. */
const bigints: ValuePool = [
  '-9223372036854775808',
  '-9007199254740993',
  '-1',
  '0',
  '1',
  '9007199254740991',
  '9007199254740992',
  '9007199254740993',
  '9007199254740994',
  '9223372036854775806',
  '9223372036854775807',
]

/** DECIMAL(30,10): twenty integer digits and ten fractional ones, neighbours in the last digit (no JS number tells them apart). */
const decimals: ValuePool = [
  '-99999999999999999999.9999999999',
  '-0.0000000001',
  '0',
  '0.0000000001',
  '0.0000000002',
  '1',
  '1.0000000000',
  '1.0000000001',
  '1.5',
  '12345678901234567890.1234567889',
  '12345678901234567890.1234567890',
  '12345678901234567890.1234567891',
  '99999999999999999999.9999999999',
]

/** DOUBLE: 937.1679094620049 (a value mysql2 misreads) and 0.3 with their neighbours, signed zeros, extremes. */
const doubles: ValuePool = text([
  ...doubleNeighbourhood(937.1679094620049),
  ...doubleNeighbourhood(0.3),
  -0,
  0,
  -1.7976931348623157e308,
  1.7976931348623157e308,
  2.2250738585072014e-308,
])

/** FLOAT / real: float32 values and their float32 neighbours (printed as the doubles that hold them exactly). */
const floats: ValuePool = text([
  ...float32Neighbourhood(0.3),
  ...float32Neighbourhood(937.1679),
  ...float32Neighbourhood(-1.5),
  -0,
  0,
  3.4028234663852886e38,
  1.1754943508222875e-38,
])

/** Strings a case-, accent- or space-insensitive collation puts in one group, and ones it does not. */
const collatedStrings: ValuePool = [
  '',
  ' a',
  'a',
  'A',
  'á',
  'Á',
  'à',
  'ä',
  'a ',
  'ab',
  'aB',
  'Ab',
  'ae',
  'æ',
  'b',
  'B',
  'ss',
  'ß',
  'z',
  'Z',
  'zz',
]

/** Microsecond timestamps: many inside one millisecond, neighbours one microsecond apart, and the millisecond edges. */
const microsecondTimes = (date: string): string[] => [
  `${date} 00:00:00`,
  `${date} 00:00:00.000001`,
  `${date} 00:00:00.000002`,
  `${date} 00:00:00.000999`,
  `${date} 00:00:00.001`,
  `${date} 00:00:00.001001`,
  `${date} 00:00:00.999999`,
  `${date} 00:00:01`,
  `${date} 23:59:59.999999`,
]

/** PostgreSQL value pools, by the column they fill. */
export const postgresPools = {
  smallint: text([-32768, -1, 0, 1, 2, 100, 101, 32766, 32767]),
  integer: text([-2147483648, -1, 0, 1, 2, 42, 43, 2147483646, 2147483647]),
  bigint: bigints,
  numeric: decimals,
  real: [...floats, 'NaN', 'Infinity', '-Infinity'],
  double: [...doubles, 'NaN', 'Infinity', '-Infinity'],
  timestamp: [...microsecondTimes('2024-01-01'), '1999-12-31 23:59:59.999999', '2000-01-01 00:00:00'],
  // the same instants written in other zones compare equal
  timestamptz: [
    ...microsecondTimes('2024-01-01').map((t) => `${t}+00`),
    '2024-01-01 01:00:00.000001+01',
    '2023-12-31 19:00:00.000002-05',
    '1999-12-31 23:59:59.999999+00',
  ],
  date: [
    '0001-01-01',
    '1970-01-01',
    '1999-12-31',
    '2000-01-01',
    '2000-02-29',
    '2024-01-01',
    '2024-01-02',
    '9999-12-31',
  ],
  time: [
    '00:00:00',
    '00:00:00.000001',
    '00:00:00.000002',
    '00:00:00.001',
    '12:00:00',
    '12:00:00.000001',
    '23:59:59.999999',
    '24:00:00',
  ],
  // '1 day' = '24 hours' and '1 mon' = '30 days' compare equal although they print differently
  interval: [
    '00:00:00',
    '00:00:00.000001',
    '-1 day',
    '1 day',
    '24:00:00',
    '1 day 00:00:00.000001',
    '30 days',
    '1 mon',
    '1 year',
    '12 mons',
    '-00:00:00.000001',
  ],
  uuid: [
    '00000000-0000-0000-0000-000000000000',
    '00000000-0000-0000-0000-000000000001',
    '00000000-0000-0000-0000-000000000002',
    '10000000-0000-0000-0000-000000000000',
    'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A12',
    'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a13',
    'ffffffff-ffff-ffff-ffff-ffffffffffff',
  ],
  collatedText: collatedStrings,
  varchar: ['', ' ', 'a', 'a ', 'a\t', 'A', 'b', 'é', 'e\u0301', "it's", '\\', 'zz', '👍'],
  bytea: ['\\x', '\\x00', '\\x0000', '\\x0001', '\\x01', '\\x00ff', '\\x7f', '\\x80', '\\xfe', '\\xff', '\\xffff'],
  boolean: ['false', 'true'],
  // declared ('zeta', 'alpha', 'mid'): ORDER BY follows the declaration, not the alphabet
  enum: ['zeta', 'alpha', 'mid'],
  intArray: ['{}', '{NULL}', '{-1}', '{1}', '{1,NULL}', '{1,2}', '{1,2,3}', '{1,3}', '{2}'],
  textArray: ['{}', '{NULL}', '{""}', '{a}', '{A}', '{a,b}', '{"a,b"}', '{"a b"}', '{b}'],
  json: ['{"a":1}', '{"a":1.0}', '{"b":1,"a":2}', '[1,2]', '"x"', 'null', '1'],
  // jsonb: 1 and 1.0 are equal numbers; objects sort by their number of pairs first
  jsonb: [
    '{}',
    '{"a":1}',
    '{"a":1.0}',
    '{"a":2}',
    '{"b":1,"a":2}',
    '[]',
    '[1,2]',
    '"x"',
    '"X"',
    'null',
    '1',
    '1.0',
    'true',
    'false',
  ],
  inet: ['0.0.0.0/0', '10.0.0.1', '10.0.0.1/32', '10.0.0.1/24', '10.0.0.2', '192.168.0.1', '::1', '::2', 'fe80::1/64'],
  xml: ['<a/>', '<a>1</a>', '<b/>'],
  point: ['(0,0)', '(1,2)', '(1,2.0000001)', '(-1,2)'],
} as const satisfies Record<string, ValuePool>

/** MariaDB value pools, by the column they fill. */
export const mariadbPools = {
  tinyint: text([-128, -1, 0, 1, 2, 126, 127]),
  smallint: text([-32768, -1, 0, 1, 2, 32766, 32767]),
  mediumint: text([-8388608, -1, 0, 1, 2, 8388606, 8388607]),
  int: text([-2147483648, -1, 0, 1, 2, 2147483646, 2147483647]),
  bigint: bigints,
  float: floats,
  double: doubles,
  decimal: decimals,
  bit1: ['0', '1'],
  bit8: ['0', '1', '2', '127', '128', '254', '255'],
  // declared ('zeta', 'alpha', 'mid'): ORDER BY follows the declaration (the index), not the alphabet
  enum: ['zeta', 'alpha', 'mid'],
  // SET('red','green','blue') sorts by its bit value: red 1, green 2, blue 4
  set: ['', 'red', 'green', 'blue', 'red,green', 'red,blue', 'green,blue', 'red,green,blue'],
  // MariaDB keeps JSON as text: '{"a":1}' and '{"a": 1}' are different strings
  json: ['{"a":1}', '{"a": 1}', '{"a":1.0}', '{"b":1,"a":2}', '[1,2]', '[1, 2]', '"x"', 'null', '1', 'true'],
  datetime0: [
    '1000-01-01 00:00:00',
    '2024-01-01 00:00:00',
    '2024-01-01 00:00:01',
    '2024-01-01 00:00:02',
    '2024-02-29 12:00:00',
    '9999-12-31 23:59:59',
  ],
  datetime3: [
    '2024-01-01 00:00:00',
    '2024-01-01 00:00:00.001',
    '2024-01-01 00:00:00.002',
    '2024-01-01 00:00:00.999',
    '2024-01-01 00:00:01',
    '9999-12-31 23:59:59.999',
  ],
  datetime6: [...microsecondTimes('2024-01-01'), '1000-01-01 00:00:00.000001', '9999-12-31 23:59:59.999999'],
  timestamp: [...microsecondTimes('2024-01-01'), '1970-01-01 00:00:01', '2038-01-19 03:14:07.999999'],
  year: ['1901', '1999', '2000', '2001', '2155'],
  // BINARY(4) pads with 0x00: '61' is stored as 61000000
  binary4: ['00000000', '00000001', '000000ff', '61', '61000000', '61000001', 'ffffffff'],
  varbinary: ['', '00', '0000', '0001', '01', '41', '61', '7f', '80', 'ff', 'ffff'],
  collatedText: collatedStrings,
  text: ['', 'a', 'A', 'á', 'a ', 'b', 'B', 'ss', 'ß', 'long '.repeat(40), `${'long '.repeat(40)}x`],
} as const satisfies Record<string, ValuePool>
