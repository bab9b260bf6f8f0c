import { z } from 'zod';
import { EntityId, EntityType, EventId } from './ids';
import { CsvList, EventEnvelope } from './events.schema';
import { WsAuthAckFrame } from './auth.schema';
import { RelayOmoiosEvent } from './omoios';

/** The relay's WebSocket path (the seed's tests connect here): envelope frames, token in the first frame. */
export const EVENTS_WS_PATH = '/api/v1/events/ws/events';

/** Each filter list is bounded so a client cannot make matching arbitrarily expensive. */
export const WS_FILTER_MAX_VALUES = 100;

const boundedCsv = (item: z.ZodType<string, string>) =>
  CsvList.pipe(z.array(item).max(WS_FILTER_MAX_VALUES, `at most ${WS_FILTER_MAX_VALUES} values`));

/**
 * Connection query. Filters combine with AND across kinds and OR within a kind; an absent kind matches
 * everything. `since` replays stored matching events with a larger id before going live.
 */
export const WsSubscribeQuery = z.object({
  entity_types: boundedCsv(EntityType),
  entity_ids: boundedCsv(EntityId),
  event_types: boundedCsv(z.string().min(1).max(200)),
  since: EventId.optional(),
});
export type WsSubscribeQuery = z.infer<typeof WsSubscribeQuery>;

/** Server → client frames: events (the envelope itself, as the seed's clients expect) and pings. */
export const WsPingFrame = z.object({ type: z.literal('ping') });
export type WsPingFrame = z.infer<typeof WsPingFrame>;

export const WsServerFrame = z.union([EventEnvelope, WsPingFrame, WsAuthAckFrame]);
export type WsServerFrame = z.infer<typeof WsServerFrame>;

/**
 * Client → server frames. Anything else is ignored; a client answers pings with `pong` if it likes.
 * With auth on, the first frame must be the `WsAuthFrame` (auth.schema.ts).
 */
export const WsClientFrame = z.object({ type: z.enum(['pong', 'ping']) });
export type WsClientFrame = z.infer<typeof WsClientFrame>;

/** Close codes the gateway uses (4000-4999 is the application range). */
export const WS_CLOSE_CODES = {
  GOING_AWAY: 1001,
  POLICY: 1008,
  /** The client did not read fast enough and its buffer overflowed: reconnect with `since`. */
  SLOW_CONSUMER: 4008,
  /** Replay from the store failed: reconnect with the same `since`. */
  REPLAY_FAILED: 4011,
  /**
   * `since` is past the newest stored event: the cursor comes from another log (the database was
   * reset or restored). Nothing would ever be replayed to it; reload history and subscribe afresh.
   */
  SINCE_AHEAD: 4416,
  /**
   * No valid token: no auth frame within the timeout, a first frame that is not `{"type":"auth"}`,
   * a bad, tampered or expired token, or the token expired while connected. Reconnect with a fresh one.
   */
  UNAUTHENTICATED: 4401,
  /** A valid token that may not watch events (a sandbox token), or none of the requested sandboxes. */
  FORBIDDEN: 4403,
  /** The original protocol's "not ready, try again later" (RFC 6455 1013): the gateway is draining, not ready, or full. */
  TRY_AGAIN_LATER: 1013,
  /** Shutdown on the original protocol (service restart): its client reconnects on this, but not on 1001. */
  SERVICE_RESTART: 1012,
} as const;

// ---------------------------------------------------------------------------------------------
// The original system's (OmoiOS) WebSocket protocol, served beside the relay's own so that its
// unchanged frontend works against the relay. README § "Replacing OmoiOS's sandbox system".
// ---------------------------------------------------------------------------------------------

/** The original's WebSocket path. */
export const OMOIOS_WS_PATH = '/api/v1/ws/events';

/**
 * Connection query of the original path: the relay's filters and `since`, plus `token`, a relay
 * token (the original frontend has no other way to pass one: browsers set no headers on a WebSocket).
 * The token is never logged (the gateway does not log upgrade targets; request logs redact it).
 */
export const OmoiosWsQuery = WsSubscribeQuery.extend({ token: z.string().min(1).max(16_384).optional() });
export type OmoiosWsQuery = z.infer<typeof OmoiosWsQuery>;

/** A filter kind in a subscribe frame: a list (or one comma-separated string); null or [] clears it. */
const subscribeList = (item: z.ZodType<string, string>) =>
  z
    .union([z.array(z.string()), z.string().transform((raw) => raw.split(','))])
    .transform((values) => values.map((value) => value.trim()).filter(Boolean))
    .pipe(z.array(item).max(WS_FILTER_MAX_VALUES, `at most ${WS_FILTER_MAX_VALUES} values`))
    .nullable()
    .optional();

/**
 * Client → server on the original path: replaces the filter kinds it names (the others stay) from now
 * on; answered with `OmoiosSubscribedFrame`. Other JSON frames are ignored; text that is not JSON is
 * answered with `OmoiosErrorFrame` "Invalid JSON message".
 */
export const OmoiosSubscribeFrame = z.object({
  type: z.literal('subscribe'),
  event_types: subscribeList(z.string().min(1).max(200)),
  entity_types: subscribeList(EntityType),
  entity_ids: subscribeList(EntityId),
});
export type OmoiosSubscribeFrame = z.infer<typeof OmoiosSubscribeFrame>;

/** The filters now in effect for the kinds a subscribe frame named (narrowed to the token's scope). */
export const OmoiosSubscribedFrame = z.object({
  status: z.literal('subscribed'),
  filters: z.object({
    event_types: z.array(z.string()).optional(),
    entity_types: z.array(z.string()).optional(),
    entity_ids: z.array(z.string()).optional(),
  }),
});
export type OmoiosSubscribedFrame = z.infer<typeof OmoiosSubscribedFrame>;

/** A refusal or a complaint: before a 4401 / 1013 close, or alone (a bad client frame; the socket stays). */
export const OmoiosErrorFrame = z.object({ error: z.string() });
export type OmoiosErrorFrame = z.infer<typeof OmoiosErrorFrame>;

/** Error texts the original's clients may know. */
export const OMOIOS_WS_ERRORS = {
  NOT_READY: 'Service not ready, please retry',
  INVALID_JSON: 'Invalid JSON message',
} as const;

/**
 * Server → client on the original path: events in the original's shape (`toOmoiosEvent`: worker events
 * as `SANDBOX_<type>`) with the relay's `id` (the `since` cursor) and `timestamp`; `{"type":"ping"}`
 * after a client has been silent for the idle interval (30 s); subscribe answers; errors.
 */
export const OmoiosWsServerFrame = z.union([RelayOmoiosEvent, WsPingFrame, OmoiosSubscribedFrame, OmoiosErrorFrame]);
export type OmoiosWsServerFrame = z.infer<typeof OmoiosWsServerFrame>;
