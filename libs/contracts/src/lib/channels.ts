// Redis channel names are wire protocol between services: every replica of every service must agree.
// Renaming one needs a coordinated deploy (old publishers and new subscribers would not meet).

/** Prefix of every live-event channel; the full name is `<prefix><entity_type>.<entity_id>`. */
export const EVENT_CHANNEL_PREFIX = 'relay.events.';

/** Pattern a subscriber uses to receive every live event. */
export const EVENT_CHANNEL_PATTERN = `${EVENT_CHANNEL_PREFIX}*`;

/** One channel per entity, so a future sharded pub/sub (Redis Cluster SPUBLISH) can spread by id. */
export function eventChannel(entityType: string, entityId: string): string {
  return `${EVENT_CHANNEL_PREFIX}${entityType}.${entityId}`;
}
