import { z } from 'zod';
import { EntityId, EntityType, EventId } from './ids';
import type { EventEnvelope } from './events.schema';

// The wire of the original system (OmoiOS), which the relay also speaks so that its unchanged
// services, workers and frontend can use the relay: its event bus publishes every system event on
// `events.<event_type>` as the JSON of `{event_type, entity_type, entity_id, payload}`, and its
// frontend reads frames of that shape. See README § "Replacing OmoiOS's sandbox system".

/** Prefix of the original's event channels; the full name is `events.<event_type>`. */
export const OMOIOS_CHANNEL_PREFIX = 'events.';

/** Pattern the original's subscribers (and the relay's bridge) use to receive every system event. */
export const OMOIOS_CHANNEL_PATTERN = `${OMOIOS_CHANNEL_PREFIX}*`;

export function omoiosChannel(eventType: string): string {
  return `${OMOIOS_CHANNEL_PREFIX}${eventType}`;
}

/** The original names a sandbox's worker events `SANDBOX_<raw type>` on its bus and its WebSocket. */
export const OMOIOS_SANDBOX_EVENT_PREFIX = 'SANDBOX_';

/**
 * Sources the relay's own services store their events with. An event posted at the sandbox edge
 * carries the worker's source (`agent`, `worker`, `system`, free text) and may not name one of these
 * (the edge refuses it), so a stored event's source tells whether a worker reported it.
 */
export const RELAY_EVENT_SOURCES = {
  SUPERVISOR: 'supervisor',
  GUARDIAN: 'guardian',
  MESSAGE_QUEUE: 'message-queue',
  BRANCH_WORKFLOW: 'branch-workflow',
  CANARY: 'relay-canary',
  /** Taken in from the original's bus (`events.*`): published there by an OmoiOS service, never published back. */
  OMOIOS_BUS: 'omoios-bus',
} as const;
export type RelayEventSource = (typeof RELAY_EVENT_SOURCES)[keyof typeof RELAY_EVENT_SOURCES];

const relaySources: ReadonlySet<string> = new Set(Object.values(RELAY_EVENT_SOURCES));

export function isRelayEventSource(source: string | null | undefined): source is RelayEventSource {
  return source != null && relaySources.has(source);
}

/** Whether a stored event was reported by a worker at the sandbox edge (not emitted by the relay or taken in). */
export function isWorkerReported(event: Pick<EventEnvelope, 'entity_type' | 'source'>): boolean {
  return event.entity_type === 'sandbox' && !isRelayEventSource(event.source);
}

/** The original's `SystemEvent` as its services publish it (its readers ignore extra fields). */
export const OmoiosSystemEvent = z.object({
  event_type: z.string().min(1).max(200),
  entity_type: EntityType,
  entity_id: EntityId,
  payload: z.record(z.string(), z.unknown()).default({}),
});
export type OmoiosSystemEvent = z.infer<typeof OmoiosSystemEvent>;

/**
 * A stored event in the original's shape, as the relay publishes it on `events.<event_type>` and sends
 * it on the original WebSocket path: the four fields the original's readers parse, plus the relay's
 * `id` (the resume cursor, and the mark by which the relay's bridge knows its own messages) and
 * `timestamp`.
 */
export const RelayOmoiosEvent = OmoiosSystemEvent.extend({ id: EventId, timestamp: z.string() });
export type RelayOmoiosEvent = z.infer<typeof RelayOmoiosEvent>;

/**
 * The original's view of a stored event. A worker's event becomes `SANDBOX_<type>` with
 * `payload = {...event_data, source, original_event_type}` (as the original's sandbox endpoint
 * publishes it); the relay's own events and those taken in from the original's bus keep their name and
 * payload.
 */
export function toOmoiosEvent(event: EventEnvelope): RelayOmoiosEvent {
  if (!isWorkerReported(event)) {
    return { event_type: event.event_type, entity_type: event.entity_type, entity_id: event.entity_id, payload: event.payload, id: event.id, timestamp: event.timestamp };
  }
  return {
    event_type: `${OMOIOS_SANDBOX_EVENT_PREFIX}${event.event_type}`,
    entity_type: event.entity_type,
    entity_id: event.entity_id,
    payload: { ...event.payload, source: event.source ?? 'agent', original_event_type: event.event_type },
    id: event.id,
    timestamp: event.timestamp,
  };
}

/** Whether a message on the original's bus was published by a relay (it carries the relay's `id`). */
export function isRelayPublished(message: Record<string, unknown>): boolean {
  return typeof message['id'] === 'string';
}
