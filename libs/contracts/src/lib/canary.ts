import { ENTITY_TYPES } from './event-types';
import type { EventEnvelope } from './events.schema';

/**
 * The gateway's end-to-end canary: a synthetic sandbox with this reserved id. Every gateway replica
 * stores a `relay.canary` event for it every few seconds and publishes it, like ingest does, and is
 * ready only while its own canary events come back through its Redis subscription. Its events are
 * not sent to WebSocket clients unless they ask for this id by name, and dashboards leave it out of
 * their sandbox lists. No worker may use this id.
 */
export const CANARY_SANDBOX_ID = '__relay_canary__';
export const CANARY_EVENT_TYPE = 'relay.canary';

export function isCanaryEvent(event: Pick<EventEnvelope, 'entity_type' | 'entity_id'>): boolean {
  return event.entity_id === CANARY_SANDBOX_ID && event.entity_type === ENTITY_TYPES.SANDBOX;
}
