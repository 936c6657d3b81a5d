import { describe, expect, it } from 'vitest'
import {
  compareCodePoints,
  defaultCounts,
  generateDataset,
  hostileCountryCodes,
  resolveCounts,
} from '@batchyield/test-fixtures'

describe('generateDataset', () => {
  it('gives equal rows for the same seed and different rows for another seed', () => {
    expect(generateDataset({ seed: 11 })).toEqual(generateDataset({ seed: 11 }))
    const a = generateDataset({ seed: 11 })
    const b = generateDataset({ seed: 12 })
    expect(a.books).not.toEqual(b.books)
    expect(a.devices.map((d) => d.id)).not.toEqual(b.devices.map((d) => d.id))
    expect(a.orderLines).not.toEqual(b.orderLines)
  })

  it('makes the default counts, with book_tags following the books', () => {
    const data = generateDataset()
    expect(data.authors).toHaveLength(defaultCounts.authors)
    expect(data.books).toHaveLength(defaultCounts.books)
    expect(data.tags).toHaveLength(defaultCounts.tags)
    expect(data.orderLines).toHaveLength(defaultCounts.orderLines)
    expect(data.devices).toHaveLength(defaultCounts.devices)
    expect(data.countries).toHaveLength(defaultCounts.countries)
    expect(data.bookTags.length).toBeGreaterThan(0)
  })

  it('honours count overrides, including zero', () => {
    const data = generateDataset({ counts: { books: 7, orderLines: 0, countries: 3 } })
    expect(data.books).toHaveLength(7)
    expect(data.orderLines).toHaveLength(0)
    expect(data.countries).toHaveLength(3)
    expect(data.bookTags.every((row) => row.book_id <= 7)).toBe(true)
  })

  it('keeps a table unchanged when another table’s count changes', () => {
    const small = generateDataset({ counts: { books: 10 } })
    const large = generateDataset({ counts: { books: 500 } })
    expect(large.devices).toEqual(small.devices)
    expect(large.countries).toEqual(small.countries)
    expect(large.authors).toEqual(small.authors)
  })

  it('makes books with some null published_at, tied dates, repeated ratings 1..5 and prices with cents', () => {
    const { books, authors } = generateDataset()
    const nulls = books.filter((book) => book.published_at === null).length
    expect(nulls).toBeGreaterThan(0)
    expect(nulls).toBeLessThan(books.length / 4)
    const dates = books.flatMap((book) => (book.published_at ? [book.published_at.getTime()] : []))
    expect(new Set(dates).size).toBeLessThan(dates.length)
    expect(new Set(books.map((book) => book.rating))).toEqual(new Set([1, 2, 3, 4, 5]))
    expect(books.every((book) => /^\d+\.\d\d$/.test(book.price))).toBe(true)
    expect(books.some((book) => !book.price.endsWith('.00'))).toBe(true)
    const authorIds = new Set(authors.map((author) => author.id))
    expect(books.every((book) => authorIds.has(book.author_id))).toBe(true)
  })

  it('gives each book 0..4 distinct existing tags, some none and some four', () => {
    const { books, tags, bookTags } = generateDataset()
    const perBook = new Map<number, number>(books.map((book) => [book.id, 0]))
    const pairs = new Set<string>()
    for (const row of bookTags) {
      perBook.set(row.book_id, (perBook.get(row.book_id) ?? 0) + 1)
      pairs.add(`${row.book_id}:${row.tag_id}`)
      expect(row.tag_id).toBeGreaterThanOrEqual(1)
      expect(row.tag_id).toBeLessThanOrEqual(tags.length)
    }
    expect(pairs.size).toBe(bookTags.length)
    const counts = [...perBook.values()]
    expect(Math.min(...counts)).toBe(0)
    expect(Math.max(...counts)).toBe(4)
  })

  it('makes unique composite keys for order lines, with several lines per order', () => {
    const { orderLines } = generateDataset()
    const keys = new Set(orderLines.map((line) => `${line.order_id}/${line.line_no}`))
    expect(keys.size).toBe(orderLines.length)
    expect(new Set(orderLines.map((line) => line.order_id)).size).toBeLessThan(orderLines.length)
  })

  it('makes unique lower-case version-4 UUIDs for devices, sorted, some registered_at null', () => {
    const { devices } = generateDataset()
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
    expect(devices.every((device) => uuid.test(device.id))).toBe(true)
    expect(new Set(devices.map((device) => device.id)).size).toBe(devices.length)
    expect(devices.map((device) => device.id)).toEqual(devices.map((device) => device.id).sort())
    expect(devices.some((device) => device.registered_at === null)).toBe(true)
  })

  it('includes every hostile country code, all distinct, sorted by code point, some populations above 2^31', () => {
    const { countries } = generateDataset()
    const codes = countries.map((country) => country.code)
    for (const code of hostileCountryCodes) expect(codes).toContain(code)
    expect(new Set(codes).size).toBe(codes.length)
    expect(codes).toEqual([...codes].sort(compareCodePoints))
    expect(codes.every((code) => code === code.trimEnd())).toBe(true)
    expect(countries.some((country) => country.population > 2 ** 31)).toBe(true)
    expect(countries.every((country) => Number.isSafeInteger(country.population))).toBe(true)
  })
})

describe('resolveCounts', () => {
  it('rejects negative, fractional and unknown counts, naming the table and the value', () => {
    expect(() => resolveCounts({ books: -1 })).toThrow(/counts\.books must be a non-negative safe integer, received -1/)
    expect(() => resolveCounts({ tags: 1.5 })).toThrow(RangeError)
    expect(() => resolveCounts({ nope: 1 } as never)).toThrow(/Unknown fixture table "nope"/)
    expect(() => resolveCounts({ authors: 0 })).toThrow(/counts\.authors must be at least 1/)
  })
})

describe('compareCodePoints', () => {
  it('orders characters beyond the BMP after U+E000..U+FFFF, as binary collations do', () => {
    expect(compareCodePoints('\u{1F642}', '\uFF21')).toBeGreaterThan(0)
    expect(['\uFF21', '\u{1F642}'].sort()).toEqual(['\u{1F642}', '\uFF21']) // UTF-16 order disagrees
    expect(compareCodePoints('a', 'ab')).toBeLessThan(0)
    expect(compareCodePoints('B', 'a')).toBeLessThan(0)
    expect(compareCodePoints('x', 'x')).toBe(0)
  })
})
