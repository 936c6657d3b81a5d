import type { Dialect } from '#src/dialect'

/** The fixture tables, parents before children (the order to create and fill them in). */
export const fixtureTables = [
  'authors',
  'books',
  'tags',
  'book_tags',
  'order_lines',
  'devices',
  'countries',
  'events',
] as const

/** The name of one fixture table. */
export type FixtureTable = (typeof fixtureTables)[number]

// Strings compare byte-wise in both dialects (PostgreSQL database collation "C", MariaDB utf8mb4_bin), so
// ORDER BY on text gives the same order on both servers, and 'ab' and 'AB' are different keys.
const mariadbTable = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin'

const postgresSchema: readonly string[] = [
  `CREATE TABLE authors (
    id serial PRIMARY KEY,
    name text NOT NULL,
    email varchar(255) NOT NULL UNIQUE,
    created_at timestamptz NOT NULL
  )`,
  `CREATE TABLE books (
    id serial PRIMARY KEY,
    author_id integer NOT NULL REFERENCES authors (id),
    title text NOT NULL,
    published_at timestamptz NULL,
    price numeric(10, 2) NOT NULL,
    rating integer NOT NULL CHECK (rating BETWEEN 1 AND 5)
  )`,
  'CREATE INDEX books_published_at_id_idx ON books (published_at, id)',
  'CREATE INDEX books_rating_id_idx ON books (rating, id)',
  'CREATE INDEX books_author_id_idx ON books (author_id)',
  `CREATE TABLE tags (
    id serial PRIMARY KEY,
    name varchar(100) NOT NULL UNIQUE
  )`,
  `CREATE TABLE book_tags (
    book_id integer NOT NULL REFERENCES books (id) ON DELETE CASCADE,
    tag_id integer NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (book_id, tag_id)
  )`,
  'CREATE INDEX book_tags_tag_id_idx ON book_tags (tag_id)',
  `CREATE TABLE order_lines (
    order_id integer NOT NULL,
    line_no integer NOT NULL,
    sku varchar(64) NOT NULL,
    quantity integer NOT NULL,
    PRIMARY KEY (order_id, line_no)
  )`,
  `CREATE TABLE devices (
    id uuid PRIMARY KEY,
    label varchar(200) NOT NULL,
    registered_at timestamptz NULL
  )`,
  `CREATE TABLE countries (
    code varchar(64) PRIMARY KEY,
    name varchar(200) NOT NULL,
    population bigint NOT NULL
  )`,
  `CREATE TABLE events (
    id bigserial PRIMARY KEY,
    occurred_at timestamptz NOT NULL,
    kind varchar(32) NOT NULL,
    user_id integer NOT NULL,
    session_id uuid NOT NULL,
    source varchar(32) NOT NULL,
    country varchar(8) NOT NULL,
    amount numeric(12, 2) NOT NULL,
    quantity integer NOT NULL,
    is_test boolean NOT NULL,
    tags text NOT NULL,
    payload jsonb NOT NULL
  )`,
  'CREATE INDEX events_occurred_at_id_idx ON events (occurred_at, id)',
]

const mariadbSchema: readonly string[] = [
  `CREATE TABLE authors (
    id int NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name text NOT NULL,
    email varchar(255) NOT NULL UNIQUE,
    created_at datetime(6) NOT NULL
  ) ${mariadbTable}`,
  `CREATE TABLE books (
    id int NOT NULL AUTO_INCREMENT PRIMARY KEY,
    author_id int NOT NULL,
    title text NOT NULL,
    published_at datetime(6) NULL,
    price decimal(10, 2) NOT NULL,
    rating int NOT NULL CHECK (rating BETWEEN 1 AND 5),
    KEY books_published_at_id_idx (published_at, id),
    KEY books_rating_id_idx (rating, id),
    KEY books_author_id_idx (author_id),
    CONSTRAINT books_author_id_fk FOREIGN KEY (author_id) REFERENCES authors (id)
  ) ${mariadbTable}`,
  `CREATE TABLE tags (
    id int NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name varchar(100) NOT NULL UNIQUE
  ) ${mariadbTable}`,
  `CREATE TABLE book_tags (
    book_id int NOT NULL,
    tag_id int NOT NULL,
    PRIMARY KEY (book_id, tag_id),
    KEY book_tags_tag_id_idx (tag_id),
    CONSTRAINT book_tags_book_id_fk FOREIGN KEY (book_id) REFERENCES books (id) ON DELETE CASCADE,
    CONSTRAINT book_tags_tag_id_fk FOREIGN KEY (tag_id) REFERENCES tags (id) ON DELETE CASCADE
  ) ${mariadbTable}`,
  `CREATE TABLE order_lines (
    order_id int NOT NULL,
    line_no int NOT NULL,
    sku varchar(64) NOT NULL,
    quantity int NOT NULL,
    PRIMARY KEY (order_id, line_no)
  ) ${mariadbTable}`,
  `CREATE TABLE devices (
    id char(36) NOT NULL PRIMARY KEY,
    label varchar(200) NOT NULL,
    registered_at datetime(6) NULL
  ) ${mariadbTable}`,
  `CREATE TABLE countries (
    code varchar(64) NOT NULL PRIMARY KEY,
    name varchar(200) NOT NULL,
    population bigint NOT NULL
  ) ${mariadbTable}`,
  `CREATE TABLE events (
    id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY,
    occurred_at datetime(6) NOT NULL,
    kind varchar(32) NOT NULL,
    user_id int NOT NULL,
    session_id char(36) NOT NULL,
    source varchar(32) NOT NULL,
    country varchar(8) NOT NULL,
    amount decimal(12, 2) NOT NULL,
    quantity int NOT NULL,
    is_test boolean NOT NULL,
    tags text NOT NULL,
    payload json NOT NULL,
    KEY events_occurred_at_id_idx (occurred_at, id)
  ) ${mariadbTable}`,
]

/**
 * The DDL statements that create the fixture schema, one statement per string, for one dialect.
 * PostgreSQL timestamps are `timestamptz`; MariaDB uses `datetime(6)` holding UTC, UUIDs as `char(36)`,
 * JSON as `json`, booleans as `boolean` (tinyint(1)).
 *
 * @example
 * ```ts
 * for (const statement of schemaStatements('mariadb')) await connection.query(statement)
 * ```
 */
export function schemaStatements(dialect: Dialect): readonly string[] {
  return dialect === 'postgres' ? postgresSchema : mariadbSchema
}
