import { createRandom, type Random } from '#src/prng'

/** How many rows of each small table {@link generateDataset} makes (`bookTags` follows from `books`). */
export interface FixtureCounts {
  authors: number
  books: number
  tags: number
  orderLines: number
  devices: number
  countries: number
}

/** Small defaults, fit for unit tests on a shared 2-core machine. */
export const defaultCounts: Readonly<FixtureCounts> = Object.freeze({
  authors: 40,
  books: 400,
  tags: 30,
  orderLines: 300,
  devices: 200,
  countries: 120,
})

/** The seed used when none is given. */
export const defaultSeed = 20260101

/** A row of `authors`. Keys are the column names. */
export interface AuthorRow {
  id: number
  name: string
  email: string
  created_at: Date
}

/** A row of `books`: `published_at` is null for about one book in ten; `rating` is 1..5 and repeats. */
export interface BookRow {
  id: number
  author_id: number
  title: string
  published_at: Date | null
  /** Exact decimal text with two digits after the point, as both drivers return `numeric`/`decimal`. */
  price: string
  rating: number
}

/** A row of `tags`. */
export interface TagRow {
  id: number
  name: string
}

/** A row of `book_tags` (primary key book_id + tag_id). */
export interface BookTagRow {
  book_id: number
  tag_id: number
}

/** A row of `order_lines` (composite primary key order_id + line_no; order ids have gaps). */
export interface OrderLineRow {
  order_id: number
  line_no: number
  sku: string
  quantity: number
}

/** A row of `devices` (UUID primary key, lower-case, hyphenated). */
export interface DeviceRow {
  id: string
  label: string
  registered_at: Date | null
}

/** A row of `countries` (string primary key; some codes hold spaces, quotes, backslashes and unicode). */
export interface CountryRow {
  code: string
  name: string
  /** Below 2^53, above 2^31 for some rows. pg returns `bigint` as a string: compare with `Number(...)`. */
  population: number
}

/** Every small table's rows, in primary-key order. */
export interface Dataset {
  authors: AuthorRow[]
  books: BookRow[]
  tags: TagRow[]
  bookTags: BookTagRow[]
  orderLines: OrderLineRow[]
  devices: DeviceRow[]
  countries: CountryRow[]
}

/** Options for {@link generateDataset} and `seed()`. */
export interface DatasetOptions {
  /** Rows per table; missing entries take {@link defaultCounts}. */
  counts?: Partial<FixtureCounts>
  /** PRNG seed (a safe integer); the same seed always gives the same rows. Default {@link defaultSeed}. */
  seed?: number
}

/**
 * Country codes that break naive SQL building or naive string handling. All are valid primary keys in both
 * dialects and distinct under binary collation; none ends in whitespace (MariaDB pads trailing spaces).
 */
export const hostileCountryCodes: readonly string[] = [
  '',
  ' leading space',
  'A B',
  "O'Brien",
  "''",
  '"quoted"',
  'back\\slash',
  '\\',
  '--comment',
  '/* block */',
  '; DROP TABLE countries; --',
  '%_like',
  '$1',
  '?',
  'tab\there',
  'line\nbreak',
  'Zürich',
  'Cafe\u0301',
  'Café',
  '日本',
  'Ελλάδα',
  '🙂 emoji',
  'ab',
  'AB',
]

const base = Date.UTC(2024, 0, 1)
const second = 1000
const day = 86_400 * second

const firstNames = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken', 'Radia', 'Niklaus']
const lastNames = [
  'Lovelace',
  'Hopper',
  'Turing',
  'Dijkstra',
  'Liskov',
  'Knuth',
  'Allen',
  'Thompson',
  'Perlman',
  'Wirth',
]
const titleWords = ['Streams', 'Batches', 'Cursors', 'Keys', 'Pages', 'Rows', 'Queries', 'Indexes', 'Joins', 'Locks']
const tagWords = ['fiction', 'science', 'history', 'poetry', 'travel', 'cooking', 'art', 'music', 'sport', 'law']
const deviceKinds = ['phone', 'tablet', 'laptop', 'sensor', 'kiosk']

/**
 * Makes the small tables' rows, deterministically: the same options give equal rows on every run and
 * machine; each table draws from its own stream, so changing one table's count leaves the others as they were
 * (books' authors and book_tags follow the counts they reference).
 *
 * @example
 * ```ts
 * const { books } = generateDataset({ counts: { books: 50 } })
 * books.filter((book) => book.published_at === null).length // the same every run
 * ```
 */
export function generateDataset(options: DatasetOptions = {}): Dataset {
  const counts = resolveCounts(options.counts)
  const seed = options.seed ?? defaultSeed
  const stream = (n: number): Random => createRandom(seed, n)
  return {
    authors: generateAuthors(stream(1), counts.authors),
    books: generateBooks(stream(2), counts.books, counts.authors),
    tags: generateTags(stream(3), counts.tags),
    bookTags: generateBookTags(stream(4), counts.books, counts.tags),
    orderLines: generateOrderLines(stream(5), counts.orderLines),
    devices: generateDevices(stream(6), counts.devices),
    countries: generateCountries(stream(7), counts.countries),
  }
}

/** The full counts for partial overrides; rejects anything but non-negative safe integers. */
export function resolveCounts(counts: Partial<FixtureCounts> = {}): FixtureCounts {
  const resolved = { ...defaultCounts, ...counts }
  for (const [table, count] of Object.entries(resolved)) {
    if (!(table in defaultCounts)) {
      throw new TypeError(
        `Unknown fixture table ${JSON.stringify(table)} in counts: expected ${Object.keys(defaultCounts).join(', ')}`,
      )
    }
    if (!Number.isSafeInteger(count) || count < 0) {
      throw new RangeError(`counts.${table} must be a non-negative safe integer, received ${String(count)}`)
    }
  }
  if (resolved.books > 0 && resolved.authors === 0) {
    throw new RangeError(
      `counts.authors must be at least 1 when counts.books is ${resolved.books} (books reference authors)`,
    )
  }
  return resolved
}

function generateAuthors(random: Random, count: number): AuthorRow[] {
  return Array.from({ length: count }, (_, index) => {
    const id = index + 1
    return {
      id,
      name: `${random.pick(firstNames)} ${random.pick(lastNames)}`,
      email: `author${id}@example.test`,
      created_at: new Date(base + index * 3_600 * second + random.int(0, 3_599) * second),
    }
  })
}

function generateBooks(random: Random, count: number, authors: number): BookRow[] {
  return Array.from({ length: count }, (_, index) => {
    const author_id = random.int(1, authors)
    const title = `${random.pick(titleWords)} and ${random.pick(titleWords)} ${index + 1}`
    // Few distinct days, so published_at has ties that only `id` breaks.
    const published_at = random.chance(0.1) ? null : new Date(base + random.int(0, 199) * day + 12 * 3_600 * second)
    const cents = random.int(99, 99_999)
    return {
      id: index + 1,
      author_id,
      title,
      published_at,
      price: formatCents(cents),
      rating: random.int(1, 5),
    }
  })
}

function generateTags(random: Random, count: number): TagRow[] {
  return Array.from({ length: count }, (_, index) => ({
    id: index + 1,
    name: `${random.pick(tagWords)}-${String(index + 1).padStart(3, '0')}`,
  }))
}

function generateBookTags(random: Random, books: number, tags: number): BookTagRow[] {
  const rows: BookTagRow[] = []
  for (let book_id = 1; book_id <= books; book_id++) {
    const wanted = Math.min(random.int(0, 4), tags)
    const chosen = new Set<number>()
    while (chosen.size < wanted) chosen.add(random.int(1, tags))
    for (const tag_id of [...chosen].sort((a, b) => a - b)) rows.push({ book_id, tag_id })
  }
  return rows
}

function generateOrderLines(random: Random, count: number): OrderLineRow[] {
  const rows: OrderLineRow[] = []
  let order_id = 1000
  while (rows.length < count) {
    order_id += random.int(1, 3)
    const lines = Math.min(random.int(1, 5), count - rows.length)
    for (let line_no = 1; line_no <= lines; line_no++) {
      rows.push({
        order_id,
        line_no,
        sku: `SKU-${String(random.int(0, 99_999)).padStart(5, '0')}`,
        quantity: random.int(1, 20),
      })
    }
  }
  return rows
}

function generateDevices(random: Random, count: number): DeviceRow[] {
  const seen = new Set<string>()
  const rows: DeviceRow[] = []
  while (rows.length < count) {
    const id = randomUuid(random)
    if (seen.has(id)) continue
    seen.add(id)
    rows.push({
      id,
      label: `${random.pick(deviceKinds)} #${rows.length + 1}`,
      registered_at: random.chance(0.2) ? null : new Date(base + random.int(0, 365 * 86_400) * second),
    })
  }
  return rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}

function generateCountries(random: Random, count: number): CountryRow[] {
  const codes = hostileCountryCodes.slice(0, count)
  for (let n = 1; codes.length < count; n++) codes.push(`C${String(n).padStart(4, '0')}`)
  const rows = codes.map((code) => ({
    code,
    name: code === '' ? 'Nowhere (empty code)' : `Country ${code}`,
    population: random.chance(0.1) ? random.int(2 ** 31, 2 ** 33) : random.int(0, 2 ** 31 - 1),
  }))
  return rows.sort((a, b) => compareCodePoints(a.code, b.code))
}

function randomUuid(random: Random): string {
  const bytes = Array.from({ length: 16 }, () => random.int(0, 255))
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x40 // version 4
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80 // RFC 4122 variant
  const hex = bytes.map((byte) => byte.toString(16).padStart(2, '0')).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/** `cents` as exact decimal text with two fraction digits: 1234 → '12.34'. */
export function formatCents(cents: number): string {
  const sign = cents < 0 ? '-' : ''
  const abs = Math.abs(cents)
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`
}

/**
 * Compares strings by Unicode code point: the order `ORDER BY` gives on the fixture databases (binary
 * collation in both dialects). Plain `<` compares UTF-16 code units, which differs for characters beyond the BMP.
 *
 * @example
 * ```ts
 * expectedCodes.sort(compareCodePoints)
 * ```
 */
export function compareCodePoints(a: string, b: string): number {
  const left = [...a]
  const right = [...b]
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const diff = (left[i] as string).codePointAt(0)! - (right[i] as string).codePointAt(0)!
    if (diff !== 0) return diff
  }
  return left.length - right.length
}
