/**
 * The conformance type matrix's table (`type_matrix`, created by @batchyield/test-fixtures/conformance)
 * mapped with MikroORM's `defineEntity`, one entity per database: every column with the property type a
 * MikroORM user would choose for it, and `columnType` where the property type's default column type
 * is another one (so the metadata states the column's real type).
 */
import { defineEntity, p, Type } from '@mikro-orm/core'
import { classOf } from './entities.js'

/** MariaDB BIT(n): mysql2 returns a Buffer; the entity holds its value as a number. */
class BitType extends Type<number | null | undefined, Buffer | number | null | undefined> {
  override convertToJSValue(value: Buffer | number | null | undefined): number | null | undefined {
    return Buffer.isBuffer(value) ? value.readUIntBE(0, value.length) : value
  }
  override convertToDatabaseValue(value: number | null | undefined): number | null | undefined {
    return value
  }
  override getColumnType(): string {
    return 'bit(1)'
  }
  override compareAsType(): string {
    return 'number'
  }
}

const PgTypeRowSchema = defineEntity({
  name: 'PgTypeRow',
  tableName: 'type_matrix',
  properties: {
    id: p.integer().primary(),
    smallintV: p.smallint().fieldName('smallint_v').nullable(),
    integerV: p.integer().fieldName('integer_v').nullable(),
    bigintV: p.bigint().fieldName('bigint_v').nullable(),
    numericText: p.decimal('string').precision(30).scale(10).fieldName('numeric_text').nullable(),
    numericNumber: p.decimal('number').precision(30).scale(10).fieldName('numeric_number').nullable(),
    realV: p.float().fieldName('real_v').nullable(),
    doubleV: p.double().fieldName('double_v').nullable(),
    timestampV: p.datetime(6).columnType('timestamp(6)').fieldName('timestamp_v').nullable(),
    timestamptzV: p.datetime(6).fieldName('timestamptz_v').nullable(),
    dateV: p.date().fieldName('date_v').nullable(),
    timeV: p.time(6).columnType('time(6)').fieldName('time_v').nullable(),
    intervalV: p.interval().fieldName('interval_v').nullable(),
    uuidV: p.uuid().fieldName('uuid_v').nullable(),
    textIcu: p.text().fieldName('text_icu').nullable(),
    textCi: p.text().fieldName('text_ci').nullable(),
    varcharV: p.string().length(40).fieldName('varchar_v').nullable(),
    byteaV: p.blob().fieldName('bytea_v').nullable(),
    booleanV: p.boolean().fieldName('boolean_v').nullable(),
    enumV: p.enum(['zeta', 'alpha', 'mid']).nativeEnumName('matrix_mood').fieldName('enum_v').nullable(),
    intArray: p.array<number | null>().columnType('integer[]').fieldName('int_array').nullable(),
    textArray: p.array().columnType('text[]').fieldName('text_array').nullable(),
    jsonV: p.json<unknown>().columnType('json').fieldName('json_v').nullable(),
    jsonbV: p.json<unknown>().fieldName('jsonb_v').nullable(),
    inetV: p.string().columnType('inet').fieldName('inet_v').nullable(),
    xmlV: p.text().columnType('xml').fieldName('xml_v').nullable(),
    pointV: p.type('unknown').columnType('point').fieldName('point_v').nullable(),
  },
})
export class PgTypeRow extends classOf(PgTypeRowSchema) {}
PgTypeRowSchema.setClass(PgTypeRow)

const MariaDbTypeRowSchema = defineEntity({
  name: 'MariaDbTypeRow',
  tableName: 'type_matrix',
  properties: {
    id: p.integer().primary(),
    tinyintV: p.tinyint().fieldName('tinyint_v').nullable(),
    smallintV: p.smallint().fieldName('smallint_v').nullable(),
    mediumintV: p.mediumint().fieldName('mediumint_v').nullable(),
    intV: p.integer().fieldName('int_v').nullable(),
    bigintV: p.bigint().fieldName('bigint_v').nullable(),
    floatV: p.float().fieldName('float_v').nullable(),
    doubleV: p.double().fieldName('double_v').nullable(),
    decimalText: p.decimal('string').precision(30).scale(10).fieldName('decimal_text').nullable(),
    decimalNumber: p.decimal('number').precision(30).scale(10).fieldName('decimal_number').nullable(),
    bit1: p.type(BitType).columnType('bit(1)').fieldName('bit1').nullable(),
    bit8: p.type(BitType).columnType('bit(8)').fieldName('bit8').nullable(),
    enumV: p.enum(['zeta', 'alpha', 'mid']).fieldName('enum_v').nullable(),
    setV: p.array().columnType("set('red','green','blue')").fieldName('set_v').nullable(),
    jsonV: p.json<unknown>().fieldName('json_v').nullable(),
    datetime0: p.datetime(0).fieldName('datetime0').nullable(),
    datetime3: p.datetime(3).fieldName('datetime3').nullable(),
    datetime6: p.datetime(6).fieldName('datetime6').nullable(),
    // MikroORM has one way to map a DATETIME(6) (TypeORM's `type: Date` variant is a plain datetime here)
    datetime6Ctor: p.datetime(6).fieldName('datetime6_ctor').nullable(),
    timestamp6: p.datetime(6).columnType('timestamp(6)').fieldName('timestamp6').nullable(),
    yearV: p.integer().columnType('year').fieldName('year_v').nullable(),
    binary4: p.blob().columnType('binary(4)').fieldName('binary4').nullable(),
    varbinaryV: p.blob().columnType('varbinary(16)').fieldName('varbinary_v').nullable(),
    varcharCi: p.string().length(40).fieldName('varchar_ci').nullable(),
    textV: p.text().fieldName('text_v').nullable(),
  },
})
export class MariaDbTypeRow extends classOf(MariaDbTypeRowSchema) {}
MariaDbTypeRowSchema.setClass(MariaDbTypeRow)
