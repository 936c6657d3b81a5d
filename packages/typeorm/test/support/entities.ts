import 'reflect-metadata'
import {
  AfterLoad,
  Column,
  DeleteDateColumn,
  Entity,
  JoinColumn,
  JoinTable,
  ManyToMany,
  ManyToOne,
  OneToMany,
  PrimaryColumn,
  PrimaryGeneratedColumn,
  RelationId,
  type ValueTransformer,
} from 'typeorm'

// Column types are explicit (decorator metadata cannot tell `Date | null` from `object`) and
// chosen to be valid on both PostgreSQL and MariaDB, so one set of entities maps the shared
// fixture schema on both servers.

/** numeric/decimal arrives as exact text; the entity holds a number. */
export const decimalToNumber: ValueTransformer = {
  to: (value: number | null | undefined) => (value === null || value === undefined ? value : value.toFixed(2)),
  from: (value: string | null) => (value === null ? null : Number(value)),
}

/** An embedded object mapped onto the authors' own columns (no prefix). */
export class Contact {
  @Column({ type: 'text' })
  name!: string

  @Column({ type: 'varchar', length: 255 })
  email!: string
}

@Entity('authors')
export class Author {
  @PrimaryGeneratedColumn()
  id!: number

  @Column(() => Contact, { prefix: false })
  contact!: Contact

  @Column({ name: 'created_at', type: 'timestamp' })
  createdAt!: Date

  @OneToMany(() => Book, (book) => book.author)
  books!: Book[]
}

@Entity('tags')
export class Tag {
  @PrimaryGeneratedColumn()
  id!: number

  @Column({ type: 'varchar', length: 100 })
  name!: string

  @ManyToMany(() => Book, (book) => book.tags)
  books!: Book[]
}

@Entity('books')
export class Book {
  @PrimaryGeneratedColumn()
  id!: number

  @Column({ name: 'author_id', type: 'int' })
  authorId!: number

  @ManyToOne(() => Author, (author) => author.books)
  @JoinColumn({ name: 'author_id' })
  author!: Author

  @Column({ type: 'text' })
  title!: string

  @Column({ name: 'published_at', type: 'timestamp', nullable: true })
  publishedAt!: Date | null

  @Column({ type: 'decimal', precision: 10, scale: 2, transformer: decimalToNumber })
  price!: number

  @Column({ type: 'int' })
  rating!: number

  @ManyToMany(() => Tag, (tag) => tag.books)
  @JoinTable({ name: 'book_tags', joinColumn: { name: 'book_id' }, inverseJoinColumn: { name: 'tag_id' } })
  tags!: Tag[]

  /** Loaded by TypeORM's RelationIdLoader with an extra query per chunk. */
  @RelationId((book: Book) => book.tags)
  tagIds!: number[]

  /** Set by an entity listener: proves listeners ran on each hydrated entity. */
  priceBand!: 'cheap' | 'dear'

  @AfterLoad()
  classify(): void {
    this.priceBand = this.price < 20 ? 'cheap' : 'dear'
  }
}

/** The same table with eager relations (joined when the query applies find options). */
@Entity('books')
export class EagerBook {
  @PrimaryGeneratedColumn()
  id!: number

  @Column({ type: 'text' })
  title!: string

  @Column({ name: 'published_at', type: 'timestamp', nullable: true })
  publishedAt!: Date | null

  @ManyToOne(() => Author, { eager: true })
  @JoinColumn({ name: 'author_id' })
  author!: Author

  @ManyToMany(() => Tag, { eager: true })
  @JoinTable({ name: 'book_tags', joinColumn: { name: 'book_id' }, inverseJoinColumn: { name: 'tag_id' } })
  tags!: Tag[]
}

@Entity('order_lines')
export class OrderLine {
  @PrimaryColumn({ name: 'order_id', type: 'int' })
  orderId!: number

  @PrimaryColumn({ name: 'line_no', type: 'int' })
  lineNo!: number

  @Column({ type: 'varchar', length: 64 })
  sku!: string

  @Column({ type: 'int' })
  quantity!: number
}

@Entity('devices')
export class Device {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string

  @Column({ type: 'varchar', length: 200 })
  label!: string

  @Column({ name: 'registered_at', type: 'timestamp', nullable: true })
  registeredAt!: Date | null
}

@Entity('countries')
export class Country {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  code!: string

  @Column({ type: 'varchar', length: 200 })
  name!: string

  /** bigint arrives as a string from both drivers. */
  @Column({ type: 'bigint' })
  population!: string
}

/** A test-local table (created by the tests that use it) for soft deletes. */
@Entity('notes')
export class Note {
  @PrimaryGeneratedColumn()
  id!: number

  @Column({ type: 'varchar', length: 100 })
  body!: string

  @DeleteDateColumn({ name: 'deleted_at', type: 'timestamp', nullable: true })
  deletedAt!: Date | null
}

export const entities = [Author, Book, EagerBook, Tag, OrderLine, Device, Country, Note]
