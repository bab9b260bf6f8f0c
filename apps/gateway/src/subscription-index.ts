import { isWorkerReported, type EventEnvelope, type EventFilter } from '@sandbox-relay/contracts';

/**
 * A subscriber's filter as the index matches it: the relay's filter, plus, for clients of the original
 * protocol, the raw types of the worker events they asked for by their original name: a client that
 * names `SANDBOX_agent.completed` gets `agent.completed` here. Matching a translated name is then a
 * set lookup on the stored type, with no string built per event or per client.
 */
export interface SubscriberFilter extends EventFilter {
  readonly workerEventTypes?: ReadonlySet<string>;
}

/** What the index needs of a subscriber. */
export interface Subscriber {
  readonly filter: SubscriberFilter;
}

/** The fields an event is routed by (`source` tells a worker's event from the relay's own). */
export type Routable = Pick<EventEnvelope, 'entity_type' | 'entity_id' | 'event_type'> & { source?: string | null };

/**
 * AND across kinds, OR within a kind; an event type matches when the filter names its stored type, or
 * (original protocol) it is a worker's event the filter names as `SANDBOX_<type>`.
 */
export function matchesSubscription(filter: SubscriberFilter, event: Routable): boolean {
  if (filter.entityTypes.size > 0 && !filter.entityTypes.has(event.entity_type)) return false;
  if (filter.entityIds.size > 0 && !filter.entityIds.has(event.entity_id)) return false;
  if (filter.eventTypes.size === 0 || filter.eventTypes.has(event.event_type)) return true;
  return (
    filter.workerEventTypes?.has(event.event_type) === true &&
    isWorkerReported({ entity_type: event.entity_type, source: event.source ?? null })
  );
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

  /** Removes a subscriber; call it before changing the subscriber's filter, and `add` after. */
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
  forEachMatch(event: Routable, visit: (subscriber: S) => void): void {
    const keyed = this.byEntityId.get(event.entity_id);
    if (keyed) for (const subscriber of keyed) if (matchesSubscription(subscriber.filter, event)) visit(subscriber);
    for (const subscriber of this.unkeyed) if (matchesSubscription(subscriber.filter, event)) visit(subscriber);
  }

  get size(): number {
    return this.members.size;
  }
}
