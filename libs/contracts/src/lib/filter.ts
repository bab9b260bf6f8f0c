import type { EventEnvelope } from './events.schema';

/** A subscriber's filter: each kind is a set of allowed values; an empty set allows everything. */
export interface EventFilter {
  entityTypes: ReadonlySet<string>;
  entityIds: ReadonlySet<string>;
  eventTypes: ReadonlySet<string>;
}

export function createEventFilter(query: {
  entity_types: string[];
  entity_ids: string[];
  event_types: string[];
}): EventFilter {
  return {
    entityTypes: new Set(query.entity_types),
    entityIds: new Set(query.entity_ids),
    eventTypes: new Set(query.event_types),
  };
}

type Routable = Pick<EventEnvelope, 'entity_type' | 'entity_id' | 'event_type'>;

/** AND across kinds, OR within a kind. */
export function matchesFilter(filter: EventFilter, event: Routable): boolean {
  return (
    allows(filter.entityTypes, event.entity_type) &&
    allows(filter.entityIds, event.entity_id) &&
    allows(filter.eventTypes, event.event_type)
  );
}

function allows(allowed: ReadonlySet<string>, value: string): boolean {
  return allowed.size === 0 || allowed.has(value);
}
