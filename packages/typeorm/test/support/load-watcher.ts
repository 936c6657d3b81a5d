import { type EntitySubscriberInterface, EventSubscriber } from 'typeorm'
import { Tag } from './entities.js'

/** A subscriber class (for `DataSource({ subscribers })`) that calls `onLoad` from each Tag's afterLoad. */
export function tagLoadWatcher(onLoad: () => void): new () => EntitySubscriberInterface<Tag> {
  @EventSubscriber()
  class TagLoadWatcher implements EntitySubscriberInterface<Tag> {
    listenTo() {
      return Tag
    }
    afterLoad(): void {
      onLoad()
    }
  }
  return TagLoadWatcher
}
