import { z } from 'zod';
import { EntityId, EntityType, EventId } from './ids';
import { CsvList, EventEnvelope } from './events.schema';
import { WsAuthAckFrame } from './auth.schema';

/** The WebSocket path. Clients of the original system connect here; keep it. */
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
} as const;
