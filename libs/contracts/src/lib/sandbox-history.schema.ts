// A sandbox's history read the original system's (OmoiOS) way: its `GET …/events?limit=&offset=&event_type=`
// and its `GET …/trajectory`, which its frontend calls. The relay's own history read (cursors by id) is
// `EventHistoryQuery` / `EventHistoryPage` in events.schema.ts; the edge tells the two apart by `offset`
// (README § "Replacing OmoiOS's sandbox system").
import { z } from 'zod';
import { EVENT_LIMITS, StorableString } from './events.schema';
import { EventId, SandboxId } from './ids';

export const OMOIOS_HISTORY_LIMITS = {
  /** The original's `GET …/events`: limit 1..500, default 100. */
  EVENTS_LIMIT_DEFAULT: 100,
  EVENTS_LIMIT_MAX: 500,
  /** The original's `GET …/trajectory`: limit 1..1000, default 100. */
  TRAJECTORY_LIMIT_DEFAULT: 100,
  TRAJECTORY_LIMIT_MAX: 1000,
} as const;

/** A `GET …/events` query with `offset` asks for the original's answer; without it, the relay's. */
export function isOmoiosHistoryQuery(query: Record<string, unknown>): boolean {
  return Object.prototype.hasOwnProperty.call(query, 'offset');
}

/** The original omits an empty filter (`event_type=` reads every type). */
const emptyAsAbsent = (value: unknown) => (value === '' ? undefined : value);

/** The relay's cursors and order mean nothing in the original's offset paging: refused, not ignored. */
const notWithOffset = z
  .unknown()
  .refine(
    (value) => value === undefined,
    "cannot be combined with offset (offset asks for the original's answer; after, before and order for the relay's)",
  )
  .optional();

/** `GET /api/v1/sandboxes/:id/events?limit=&offset=&event_type=` the original's way: newest first, skipping `offset`. */
export const OmoiosEventListQuery = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(OMOIOS_HISTORY_LIMITS.EVENTS_LIMIT_MAX)
    .default(OMOIOS_HISTORY_LIMITS.EVENTS_LIMIT_DEFAULT),
  // Digits only: an empty `offset=` is a mistake, not 0 (what a number coercion would make of it).
  offset: z
    .string()
    .regex(/^[0-9]{1,15}$/, 'must be a whole number from 0 (at most 15 digits)')
    .transform(Number),
  /** One type, matched exactly (the original's filter; the relay's own read takes a comma-separated list). */
  event_type: z.preprocess(emptyAsAbsent, StorableString.min(1).max(EVENT_LIMITS.EVENT_TYPE_MAX).optional()),
  after: notWithOffset,
  before: notWithOffset,
  order: notWithOffset,
});
export type OmoiosEventListQuery = z.infer<typeof OmoiosEventListQuery>;

/** A stored sandbox event as the original lists it (its `SandboxEventItem`). `id` is the relay's id, a decimal string. */
export const OmoiosSandboxEvent = z.object({
  id: EventId,
  sandbox_id: SandboxId,
  event_type: z.string(),
  event_data: z.record(z.string(), z.unknown()),
  /** The worker's source; `agent` (the original's default) for an event stored without one. */
  source: z.string(),
  created_at: z.string(),
});
export type OmoiosSandboxEvent = z.infer<typeof OmoiosSandboxEvent>;

/** The original's answer to `GET …/events` (its `SandboxEventsListResponse`). */
export const OmoiosEventList = z.object({
  events: z.array(OmoiosSandboxEvent),
  /** Every stored event of the sandbox that matches `event_type`, whatever `limit` and `offset`. */
  total_count: z.number().int().nonnegative(),
  sandbox_id: SandboxId,
});
export type OmoiosEventList = z.infer<typeof OmoiosEventList>;

/**
 * `GET /api/v1/sandboxes/:id/trajectory?limit=&cursor=&direction=`: the sandbox's events without
 * heartbeats, newest first. Without `cursor`, `older` reads the newest page and `newer` the oldest;
 * with it, the events older (newer) than the cursor's id.
 */
export const TrajectoryQuery = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(OMOIOS_HISTORY_LIMITS.TRAJECTORY_LIMIT_MAX)
    .default(OMOIOS_HISTORY_LIMITS.TRAJECTORY_LIMIT_DEFAULT),
  cursor: z.preprocess(emptyAsAbsent, EventId.optional()),
  direction: z.enum(['older', 'newer']).default('older'),
});
export type TrajectoryQuery = z.infer<typeof TrajectoryQuery>;

export const HeartbeatSummary = z.object({
  count: z.number().int().nonnegative(),
  first_heartbeat: z.string().nullable(),
  last_heartbeat: z.string().nullable(),
});
export type HeartbeatSummary = z.infer<typeof HeartbeatSummary>;

/** The original's `TrajectorySummaryResponse`. */
export const TrajectorySummary = z.object({
  sandbox_id: SandboxId,
  /** Newest first in either direction. */
  events: z.array(OmoiosSandboxEvent),
  /** Both heartbeat types (`heartbeat`, `agent.heartbeat`) of the whole history. */
  heartbeat_summary: HeartbeatSummary,
  /** Every stored event of the sandbox, heartbeats included. */
  total_events: z.number().int().nonnegative(),
  /** The events on this page. */
  trajectory_events: z.number().int().nonnegative(),
  /** The oldest event's id on this page when `has_more`: pass with `direction=older` for the next, older page. */
  next_cursor: EventId.nullable(),
  /** The newest event's id on this page (null when it is empty): pass with `direction=newer` for newer events. */
  prev_cursor: EventId.nullable(),
  /** More events lie beyond this page in the direction read. */
  has_more: z.boolean(),
});
export type TrajectorySummary = z.infer<typeof TrajectorySummary>;
