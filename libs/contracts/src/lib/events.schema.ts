import { z } from 'zod';
import { RELAY_EVENT_SOURCES, isRelayEventSource } from './event-sources';
import { EntityId, EntityType, EventId } from './ids';
import { isStorableText } from './text';

/** Limits of one event, enforced at the edge; the HTTP body limit sits above these. */
export const EVENT_LIMITS = {
  EVENT_TYPE_MAX: 200,
  SOURCE_MAX: 100,
  /** Serialized size of `event_data`. A unified diff of a large file edit fits; a core dump does not. */
  EVENT_DATA_MAX_BYTES: 256 * 1024,
  /**
   * Nesting of `event_data` (objects and arrays). JSON.stringify recurses, and past a few thousand levels
   * it overflows the stack: validation, and every later serialization of the row (history pages), would
   * answer 500. Real tool output nests a few dozen levels.
   */
  EVENT_DATA_MAX_DEPTH: 256,
  BATCH_MAX: 1000,
  HISTORY_LIMIT_DEFAULT: 100,
  HISTORY_LIMIT_MAX: 1000,
} as const;

/**
 * A JSON text escape Postgres refuses in jsonb: NUL (\u0000) or a lone UTF-16 surrogate. JSON.stringify
 * writes every lone surrogate as such an escape and pairs raw, so any surrogate escape that is not
 * itself escaped (an odd run of backslashes) is one.
 */
const UNSTORABLE_ESCAPE = /(?:^|[^\\])(?:\\\\)*\\u(?:0000|d[89a-f][0-9a-f]{2})/i;

/** Postgres text columns refuse NUL bytes; lone surrogates would be silently replaced by U+FFFD. */
export const StorableString = z
  .string()
  .refine(isStorableText, 'must not contain NUL or unpaired surrogate characters');

/** Serialized `event_data` of validated bodies, so the edge serializes each event once. */
const serializedData = new WeakMap<object, string>();

/** Whether `value` nests objects/arrays deeper than `max` levels; iterative, so depth cannot overflow it. */
function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  for (let top = stack.pop(); top; top = stack.pop()) {
    const [node, depth] = top;
    if (typeof node !== 'object' || node === null) continue;
    if (depth > max) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

/**
 * `JSON.stringify(value)`, or undefined when `value` nests objects/arrays deeper than `max` levels. Each
 * level adds a pair of brackets, so text of at most 2 × `max` characters cannot nest deeper: only longer
 * text (rare) is walked (`nestsDeeperThan`). Nesting deep enough (thousands of levels) overflows
 * `JSON.stringify`'s stack: its RangeError is told from any other by the same walk.
 */
function serializeWithinDepth(value: object, max: number): string | undefined {
  let json: string;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    if (error instanceof RangeError && nestsDeeperThan(value, max)) return undefined;
    throw error;
  }
  return json.length > 2 * max && nestsDeeperThan(value, max) ? undefined : json;
}

/**
 * An event's data as the relay stores it: a JSON object within the depth and size limits, with no text
 * Postgres refuses. Validation serializes it once and keeps the text (`serializeEventData`).
 */
export const EventData = z.record(z.string(), z.unknown()).superRefine((data, ctx) => {
  const json = serializeWithinDepth(data, EVENT_LIMITS.EVENT_DATA_MAX_DEPTH);
  if (json === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `must not nest objects or arrays more than ${EVENT_LIMITS.EVENT_DATA_MAX_DEPTH} levels deep`,
    });
    return;
  }
  // A UTF-16 unit is at most 3 bytes of UTF-8: text that short is within the limit without counting its bytes.
  if (
    json.length * 3 > EVENT_LIMITS.EVENT_DATA_MAX_BYTES &&
    Buffer.byteLength(json) > EVENT_LIMITS.EVENT_DATA_MAX_BYTES
  ) {
    ctx.addIssue({ code: 'custom', message: `must serialize to at most ${EVENT_LIMITS.EVENT_DATA_MAX_BYTES} bytes` });
  } else if (json.includes('\\u') && UNSTORABLE_ESCAPE.test(json)) {
    ctx.addIssue({ code: 'custom', message: 'must not contain NUL or unpaired surrogate characters' });
  } else {
    serializedData.set(data, json);
  }
});

/** The JSON text of a validated body's `event_data` (computed during validation; computed now otherwise). */
export function serializeEventData(data: Record<string, unknown>): string {
  return serializedData.get(data) ?? JSON.stringify(data);
}

/** What a worker POSTs for one event. */
export const EventBody = z.object({
  event_type: StorableString.min(1).max(EVENT_LIMITS.EVENT_TYPE_MAX),
  event_data: EventData.default({}),
  source: StorableString.min(1)
    .max(EVENT_LIMITS.SOURCE_MAX)
    // The relay's own sources mark events its services emitted (and which it publishes to the original's
    // bus under their own name): a worker may not pass its events off as the relay's.
    .refine(
      (source) => !isRelayEventSource(source),
      `must not be one of the relay's own sources (${Object.values(RELAY_EVENT_SOURCES).join(', ')})`,
    )
    .optional(),
});
export type EventBody = z.infer<typeof EventBody>;

/** A worker's buffered backlog: a JSON array of event bodies, stored in order. */
export const EventBatchBody = z.array(EventBody).min(1).max(EVENT_LIMITS.BATCH_MAX);
export type EventBatchBody = z.infer<typeof EventBatchBody>;

/**
 * The one shape of a stored event everywhere it travels: Redis pub/sub payload, WebSocket frame and
 * history item. `id` is the store's bigint id as a decimal string, the resume cursor.
 */
export const EventEnvelope = z.object({
  id: EventId,
  event_type: z.string(),
  entity_type: EntityType,
  entity_id: EntityId,
  payload: z.record(z.string(), z.unknown()),
  source: z.string().nullable(),
  timestamp: z.string(),
});
export type EventEnvelope = z.infer<typeof EventEnvelope>;

/**
 * The envelope as a subscriber checks it on the internal event channel: every routing field as strict as
 * `EventEnvelope`, the payload only checked to be an object (a JSON object's keys are always strings, so
 * walking them, as `z.record` does, cannot fail and costs a pass over every payload at fan-out rates).
 */
export const LiveEventEnvelope = EventEnvelope.extend({
  payload: z.custom<Record<string, unknown>>(
    (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
    'must be an object',
  ),
});

/**
 * `JSON.stringify(event)` for an envelope, built around `payloadJson` (the text of `event.payload`) so
 * a publisher that sends one event on several channels serializes its payload once.
 */
export function serializeEnvelope(event: EventEnvelope, payloadJson: string = JSON.stringify(event.payload)): string {
  const quote = JSON.stringify;
  return (
    `{"id":${quote(event.id)},"event_type":${quote(event.event_type)},"entity_type":${quote(event.entity_type)},` +
    `"entity_id":${quote(event.entity_id)},"payload":${payloadJson},"source":${quote(event.source)},"timestamp":${quote(event.timestamp)}}`
  );
}

/** Answer to a single-event POST: the envelope as stored. */
export const EventAccepted = EventEnvelope;
export type EventAccepted = EventEnvelope;

/** Answer to a batch POST: ids in the order of the request's array. */
export const EventBatchAccepted = z.object({ count: z.number().int(), ids: z.array(EventId) });
export type EventBatchAccepted = z.infer<typeof EventBatchAccepted>;

const CsvList = z
  .string()
  .optional()
  .transform((raw) =>
    raw
      ? raw
          .split(',')
          .map((part) => part.trim())
          .filter(Boolean)
      : [],
  );

/**
 * `GET /api/v1/sandboxes/:id/events` query: ids between the cursors (`after` < id < `before`), oldest
 * first by default; `order=desc` reads newest first (the dashboard's first page, then older pages with
 * `before` = the oldest id it has).
 */
export const EventHistoryQuery = z.object({
  after: EventId.optional(),
  before: EventId.optional(),
  order: z.enum(['asc', 'desc']).default('asc'),
  limit: z.coerce.number().int().min(1).max(EVENT_LIMITS.HISTORY_LIMIT_MAX).default(EVENT_LIMITS.HISTORY_LIMIT_DEFAULT),
  event_type: CsvList,
});
export type EventHistoryQuery = z.infer<typeof EventHistoryQuery>;

export const EventHistoryPage = z.object({
  events: z.array(EventEnvelope),
  /** Ascending pages: pass as `after` to read the next page; null when this page was the last (always null on a descending page). */
  next_after: EventId.nullable(),
  /** Descending pages only: pass as `before` to read the next (older) page; null when this page reached the oldest. */
  next_before: EventId.nullable().optional(),
});
export type EventHistoryPage = z.infer<typeof EventHistoryPage>;

export { CsvList };
