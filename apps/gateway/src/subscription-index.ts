import { matchesFilter, type EventEnvelope, type EventFilter } from '@sandbox-relay/contracts';

/** What the index needs of a subscriber. */
export interface Subscriber {
  readonly filter: EventFilter;
}

/**
 * Routes an event to the subscribers whose filter matches it without looking at every subscriber:
 * subscribers that name entity ids are found through those ids; only subscribers without an id
 * filter (a whole entity type, or everything) are checked on every event.
 */
export class SubscriptionIndex<S extends Subscriber> {
  private readonly byEntityId = new Map<string, Set<S>>();
  private readonly unkeyed = new Set<S>();
  private readonly members = new Set<S>();

  add(subscriber: S): void {
    if (this.members.has(subscriber)) return;
    this.members.add(subscriber);
    const ids = subscriber.filter.entityIds;
    if (ids.size === 0) this.unkeyed.add(subscriber);
    for (const id of ids) {
      let set = this.byEntityId.get(id);
      if (!set) this.byEntityId.set(id, (set = new Set()));
      set.add(subscriber);
    }
  }

  remove(subscriber: S): void {
    if (!this.members.delete(subscriber)) return;
    this.unkeyed.delete(subscriber);
    for (const id of subscriber.filter.entityIds) {
      const set = this.byEntityId.get(id);
      set?.delete(subscriber);
      if (set?.size === 0) this.byEntityId.delete(id);
    }
  }

  /** Calls `visit` for each subscriber whose filter matches `event`, once each. */
  forEachMatch(event: Pick<EventEnvelope, 'entity_type' | 'entity_id' | 'event_type'>, visit: (subscriber: S) => void): void {
    const keyed = this.byEntityId.get(event.entity_id);
    if (keyed) for (const subscriber of keyed) if (matchesFilter(subscriber.filter, event)) visit(subscriber);
    for (const subscriber of this.unkeyed) if (matchesFilter(subscriber.filter, event)) visit(subscriber);
  }

  get size(): number {
    return this.members.size;
  }
}
