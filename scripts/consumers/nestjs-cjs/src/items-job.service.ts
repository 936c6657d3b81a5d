import '@batchyield/typeorm'
import { Injectable } from '@nestjs/common'
import { InjectRepository } from '@nestjs/typeorm'
import type { Repository } from 'typeorm'
import { Item } from './item.entity'

/** A batch job: streams every item in lists of `batchSize`, `chunkSize` rows per round trip. */
@Injectable()
export class ItemsJob {
  constructor(@InjectRepository(Item) private readonly items: Repository<Item>) {}

  async run(strategy: 'keyset' | 'cursor', handle: (batch: Item[]) => Promise<void> | void): Promise<number> {
    let batches = 0
    for await (const batch of this.items.aiterator(
      { order: { id: 'ASC' } },
      { batchYieldSize: 4, chunkSize: 3, strategy },
    )) {
      await handle(batch)
      batches += 1
    }
    return batches
  }
}
