import { Column, Entity, PrimaryColumn } from 'typeorm'

export const ITEMS_TABLE = `consumer_nestjs_cjs_${process.pid}`

@Entity({ name: ITEMS_TABLE })
export class Item {
  @PrimaryColumn() id!: number
  @Column() name!: string
}
