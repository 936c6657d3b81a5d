import { MikroOrmModule } from '@mikro-orm/nestjs'
import { PostgreSqlDriver } from '@mikro-orm/postgresql'
import { type DynamicModule, Module } from '@nestjs/common'
import { TypeOrmModule } from '@nestjs/typeorm'
import { Event, EventEntity } from './event.entity.js'
import { MikroOrmExportModule } from './mikro-orm-export.module.js'
import { TypeormExportModule } from './typeorm-export.module.js'

export interface ExportAppOptions {
  readonly orm: 'typeorm' | 'mikro-orm'
  /** A PostgreSQL database holding the fixture table `events`. */
  readonly url: string
}

/** The application: one ORM's connection and its export module, which provides `EXPORT_JOB`. */
@Module({})
export class ExportAppModule {
  static forRoot({ orm, url }: ExportAppOptions): DynamicModule {
    const imports =
      orm === 'typeorm'
        ? [TypeOrmModule.forRoot({ type: 'postgres', url, entities: [Event] }), TypeormExportModule]
        : [
            MikroOrmModule.forRoot({ driver: PostgreSqlDriver, clientUrl: url, entities: [EventEntity] }),
            MikroOrmExportModule,
          ]
    return {
      module: ExportAppModule,
      imports,
      exports: [orm === 'typeorm' ? TypeormExportModule : MikroOrmExportModule],
    }
  }
}
