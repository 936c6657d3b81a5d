import { Module } from '@nestjs/common'
import { TypeOrmModule } from '@nestjs/typeorm'
import { Item } from './item.entity'
import { ItemsJob } from './items-job.service'

@Module({
  imports: [
    TypeOrmModule.forRoot({ type: 'postgres', url: process.env.DATABASE_URL, entities: [Item] }),
    TypeOrmModule.forFeature([Item]),
  ],
  providers: [ItemsJob],
})
export class AppModule {}
