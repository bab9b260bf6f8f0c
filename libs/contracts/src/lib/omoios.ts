import { z } from 'zod';
import { CANARY_SANDBOX_ID } from './canary';
import { isRelayEventSource } from './event-sources';
import { ENTITY_TYPES } from './event-types';
import { EVENT_LIMITS, EventData, StorableString, type EventEnvelope } from './events.schema';
import { EntityId, EntityType, EventId } from './ids';

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

/** Whether a stored event was reported by a worker at the sandbox edge (not emitted by the relay or taken in). */
export function isWorkerReported(event: Pick<EventEnvelope, 'entity_type' | 'source'>): boolean {
  return event.entity_type === ENTITY_TYPES.SANDBOX && !isRelayEventSource(event.source);
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
 * A message on the original's bus that the relay's bridge takes into its event log: a `SystemEvent`
 * whose fields the store accepts (the event type and payload within the edge's limits, no text
 * Postgres refuses; entity type and id in the channel-safe alphabet) and that does not claim the
 * gateway's canary sandbox. Anything else is dropped by the bridge, logged and counted.
 */
export const OmoiosForeignEvent = OmoiosSystemEvent.extend({
  event_type: StorableString.min(1).max(EVENT_LIMITS.EVENT_TYPE_MAX),
  payload: EventData.default({}),
}).refine((event) => !(event.entity_type === ENTITY_TYPES.SANDBOX && event.entity_id === CANARY_SANDBOX_ID), {
  message: 'must not name the canary sandbox',
  path: ['entity_id'],
});
export type OmoiosForeignEvent = z.infer<typeof OmoiosForeignEvent>;

/**
 * A stored event in the original's shape, as the relay publishes it on `events.<event_type>` and sends
 * it on the original WebSocket path: the four fields the original's readers parse, plus the relay's
 * `id` (the resume cursor, and the mark by which the relay's bridge knows its own messages) and
 * `timestamp`.
 */
export const RelayOmoiosEvent = OmoiosSystemEvent.extend({ id: EventId, timestamp: z.string() });
export type RelayOmoiosEvent = z.infer<typeof RelayOmoiosEvent>;

/** The name a stored event has on the original's bus and WebSocket (see `toOmoiosEvent`). */
export function omoiosEventType(event: Pick<EventEnvelope, 'event_type' | 'entity_type' | 'source'>): string {
  return isWorkerReported(event) ? `${OMOIOS_SANDBOX_EVENT_PREFIX}${event.event_type}` : event.event_type;
}

/**
 * The original's view of a stored event. A worker's event becomes `SANDBOX_<type>` with
 * `payload = {...event_data, source, original_event_type}` (as the original's sandbox endpoint
 * publishes it); the relay's own events and those taken in from the original's bus keep their name and
 * payload.
 */
export function toOmoiosEvent(event: EventEnvelope): RelayOmoiosEvent {
  if (!isWorkerReported(event)) {
    return {
      event_type: event.event_type,
      entity_type: event.entity_type,
      entity_id: event.entity_id,
      payload: event.payload,
      id: event.id,
      timestamp: event.timestamp,
    };
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

const quote = JSON.stringify;

/**
 * `JSON.stringify(toOmoiosEvent(event))`, built around `payloadJson` (the text of `event.payload`,
 * which the publisher has already made for the relay's own channel) so that a payload is serialized
 * once however many wires it goes out on. Parses to exactly `toOmoiosEvent(event)`.
 */
export function serializeOmoiosEvent(
  event: EventEnvelope,
  payloadJson: string = JSON.stringify(event.payload),
): string {
  const tail = `,"id":${quote(event.id)},"timestamp":${quote(event.timestamp)}}`;
  const head = (eventType: string) =>
    `{"event_type":${quote(eventType)},"entity_type":${quote(event.entity_type)},"entity_id":${quote(event.entity_id)},"payload":`;
  if (!isWorkerReported(event)) return head(event.event_type) + payloadJson + tail;
  // The data names a key the mapping sets: splicing would repeat the key; let the mapping override it.
  if (Object.hasOwn(event.payload, 'source') || Object.hasOwn(event.payload, 'original_event_type'))
    return JSON.stringify(toOmoiosEvent(event));
  const added = `"source":${quote(event.source ?? 'agent')},"original_event_type":${quote(event.event_type)}}`;
  const payload = payloadJson === '{}' ? `{${added}` : `${payloadJson.slice(0, -1)},${added}`;
  return head(`${OMOIOS_SANDBOX_EVENT_PREFIX}${event.event_type}`) + payload + tail;
}

const RELAY_TAIL = /^,"id":"\d+","timestamp":"[^"\\]*"}$/;

/**
 * Whether `raw` has the framing `serializeOmoiosEvent` gives the relay's own messages (its head, and
 * `id` then `timestamp` as the last top-level keys), checked on the text: every ingest replica hears
 * its own and its peers' messages on `events.*`, and this spares parsing them. False means "parse it
 * and look" (`isRelayPublished`), never "foreign".
 */
export function hasRelayFraming(raw: string): boolean {
  if (!raw.startsWith('{"event_type":')) return false;
  const tail = raw.lastIndexOf(',"id":"');
  return tail !== -1 && raw.length - tail <= 80 && RELAY_TAIL.test(raw.slice(tail));
}

/** Whether a message on the original's bus was published by a relay (it carries the relay's `id`). */
export function isRelayPublished(message: Record<string, unknown>): boolean {
  return typeof message['id'] === 'string';
}
