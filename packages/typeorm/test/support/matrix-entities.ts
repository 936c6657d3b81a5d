import 'reflect-metadata'
import { Column, Entity, PrimaryColumn, type ValueTransformer } from 'typeorm'

// The conformance type matrix's table (`type_matrix`, created by @batchyield/test-fixtures/conformance)
// mapped with TypeORM, one entity per database: every column with the type a TypeORM user would
// declare for it, camelCase properties on snake_case columns.

/** A DECIMAL hydrated as a JS number (lossy beyond 15-17 digits), as many TypeORM users map money and measures. */
const decimalAsNumber: ValueTransformer = {
  to: (value: number | null | undefined) => (value === null || value === undefined ? value : String(value)),
  from: (value: string | null) => (value === null ? null : Number(value)),
}

@Entity('type_matrix')
export class PgTypeRow {
  @PrimaryColumn({ type: 'int' })
  id!: number

  @Column({ name: 'smallint_v', type: 'smallint', nullable: true })
  smallintV!: number | null

  @Column({ name: 'integer_v', type: 'integer', nullable: true })
  integerV!: number | null

  @Column({ name: 'bigint_v', type: 'bigint', nullable: true })
  bigintV!: string | null

  @Column({ name: 'numeric_text', type: 'numeric', precision: 30, scale: 10, nullable: true })
  numericText!: string | null

  @Column({
    name: 'numeric_number',
    type: 'numeric',
    precision: 30,
    scale: 10,
    nullable: true,
    transformer: decimalAsNumber,
  })
  numericNumber!: number | null

  @Column({ name: 'real_v', type: 'real', nullable: true })
  realV!: number | null

  @Column({ name: 'double_v', type: 'double precision', nullable: true })
  doubleV!: number | null

  @Column({ name: 'timestamp_v', type: 'timestamp', precision: 6, nullable: true })
  timestampV!: Date | null

  @Column({ name: 'timestamptz_v', type: 'timestamptz', precision: 6, nullable: true })
  timestamptzV!: Date | null

  @Column({ name: 'date_v', type: 'date', nullable: true })
  dateV!: string | null

  @Column({ name: 'time_v', type: 'time', precision: 6, nullable: true })
  timeV!: string | null

  @Column({ name: 'interval_v', type: 'interval', nullable: true })
  intervalV!: unknown

  @Column({ name: 'uuid_v', type: 'uuid', nullable: true })
  uuidV!: string | null

  @Column({ name: 'text_icu', type: 'text', collation: 'en-x-icu', nullable: true })
  textIcu!: string | null

  @Column({ name: 'text_ci', type: 'text', collation: 'matrix_ci', nullable: true })
  textCi!: string | null

  @Column({ name: 'varchar_v', type: 'varchar', length: 40, nullable: true })
  varcharV!: string | null

  @Column({ name: 'bytea_v', type: 'bytea', nullable: true })
  byteaV!: Buffer | null

  @Column({ name: 'boolean_v', type: 'boolean', nullable: true })
  booleanV!: boolean | null

  @Column({ name: 'enum_v', type: 'enum', enum: ['zeta', 'alpha', 'mid'], enumName: 'matrix_mood', nullable: true })
  enumV!: 'zeta' | 'alpha' | 'mid' | null

  @Column({ name: 'int_array', type: 'int', array: true, nullable: true })
  intArray!: (number | null)[] | null

  @Column({ name: 'text_array', type: 'text', array: true, nullable: true })
  textArray!: (string | null)[] | null

  @Column({ name: 'json_v', type: 'json', nullable: true })
  jsonV!: unknown

  @Column({ name: 'jsonb_v', type: 'jsonb', nullable: true })
  jsonbV!: unknown

  @Column({ name: 'inet_v', type: 'inet', nullable: true })
  inetV!: string | null

  @Column({ name: 'xml_v', type: 'xml', nullable: true })
  xmlV!: string | null

  @Column({ name: 'point_v', type: 'point', nullable: true })
  pointV!: unknown
}

@Entity('type_matrix')
export class MariaDbTypeRow {
  @PrimaryColumn({ type: 'int' })
  id!: number

  @Column({ name: 'tinyint_v', type: 'tinyint', nullable: true })
  tinyintV!: number | null

  @Column({ name: 'smallint_v', type: 'smallint', nullable: true })
  smallintV!: number | null

  @Column({ name: 'mediumint_v', type: 'mediumint', nullable: true })
  mediumintV!: number | null

  @Column({ name: 'int_v', type: 'int', nullable: true })
  intV!: number | null

  @Column({ name: 'bigint_v', type: 'bigint', nullable: true })
  bigintV!: string | null

  @Column({ name: 'float_v', type: 'float', nullable: true })
  floatV!: number | null

  @Column({ name: 'double_v', type: 'double', nullable: true })
  doubleV!: number | null

  @Column({ name: 'decimal_text', type: 'decimal', precision: 30, scale: 10, nullable: true })
  decimalText!: string | null

  @Column({
    name: 'decimal_number',
    type: 'decimal',
    precision: 30,
    scale: 10,
    nullable: true,
    transformer: decimalAsNumber,
  })
  decimalNumber!: number | null

  @Column({ name: 'bit1', type: 'bit', nullable: true })
  bit1!: Buffer | null

  @Column({ name: 'bit8', type: 'bit', nullable: true })
  bit8!: Buffer | null

  @Column({ name: 'enum_v', type: 'enum', enum: ['zeta', 'alpha', 'mid'], nullable: true })
  enumV!: 'zeta' | 'alpha' | 'mid' | null

  @Column({ name: 'set_v', type: 'set', enum: ['red', 'green', 'blue'], nullable: true })
  setV!: string[] | null

  @Column({ name: 'json_v', type: 'json', nullable: true })
  jsonV!: unknown

  @Column({ name: 'datetime0', type: 'datetime', nullable: true })
  datetime0!: Date | null

  @Column({ name: 'datetime3', type: 'datetime', precision: 3, nullable: true })
  datetime3!: Date | null

  @Column({ name: 'datetime6', type: 'datetime', precision: 6, nullable: true })
  datetime6!: Date | null

  /** The same column type declared with the `Date` constructor, as decorator-metadata users end up with. */
  @Column({ name: 'datetime6_ctor', type: Date, precision: 6, nullable: true })
  datetime6Ctor!: Date | null

  @Column({ name: 'timestamp6', type: 'timestamp', precision: 6, nullable: true })
  timestamp6!: Date | null

  @Column({ name: 'year_v', type: 'year', nullable: true })
  yearV!: number | null

  @Column({ name: 'binary4', type: 'binary', length: 4, nullable: true })
  binary4!: Buffer | null

  @Column({ name: 'varbinary_v', type: 'varbinary', length: 16, nullable: true })
  varbinaryV!: Buffer | null

  @Column({
    name: 'varchar_ci',
    type: 'varchar',
    length: 40,
    charset: 'utf8mb4',
    collation: 'utf8mb4_unicode_ci',
    nullable: true,
  })
  varcharCi!: string | null

  @Column({ name: 'text_v', type: 'text', charset: 'utf8mb4', collation: 'utf8mb4_general_ci', nullable: true })
  textV!: string | null
}
