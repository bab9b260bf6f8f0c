import {
  ENTITY_TYPES,
  HEARTBEAT_EVENT_TYPE_LIST,
  type EventEnvelope,
  type OmoiosEventList,
  type OmoiosEventListQuery,
  type OmoiosSandboxEvent,
  type TrajectoryQuery,
  type TrajectorySummary,
} from '@sandbox-relay/contracts';
import type { EventRepository } from '@sandbox-relay/store';

/** A stored sandbox event in the original's list shape; an event stored without a source reads as `agent`, the original's default. */
function toOmoiosItem(event: EventEnvelope): OmoiosSandboxEvent {
  return {
    id: event.id,
    sandbox_id: event.entity_id,
    event_type: event.event_type,
    event_data: event.payload,
    source: event.source ?? 'agent',
    created_at: event.timestamp,
  };
}

/**
 * The original's `GET …/events?limit=&offset=&event_type=`: newest first, `offset` skipped, and the
 * count of every matching event. The page and the count are two statements, so an event stored
 * between them may be counted and not listed (as in the original).
 */
export async function omoiosEventList(
  events: EventRepository,
  sandboxId: string,
  query: OmoiosEventListQuery,
): Promise<OmoiosEventList> {
  const scope = { entityType: ENTITY_TYPES.SANDBOX, entityId: sandboxId, eventType: query.event_type };
  const [page, total] = await Promise.all([
    events.list({
      entityTypes: [scope.entityType],
      entityIds: [sandboxId],
      ...(query.event_type !== undefined ? { eventTypes: [query.event_type] } : {}),
      order: 'desc',
      offset: query.offset,
      limit: query.limit,
    }),
    events.countEntityEvents(scope),
  ]);
  return { events: page.map(toOmoiosItem), total_count: total, sandbox_id: sandboxId };
}

/**
 * The original's `GET …/trajectory`: a page of the sandbox's events without heartbeats, newest first,
 * read `limit + 1` deep to know whether more lie beyond it; heartbeats summarised over the whole
 * history. `older` reads below the cursor (from the newest without one), `newer` above it (from the
 * oldest without one). `next_cursor` is the page's oldest id when there is more, `prev_cursor` its
 * newest id, as in the original.
 */
export async function trajectorySummary(
  events: EventRepository,
  sandboxId: string,
  query: TrajectoryQuery,
): Promise<TrajectorySummary> {
  const older = query.direction === 'older';
  const [read, stats] = await Promise.all([
    events.list({
      entityTypes: [ENTITY_TYPES.SANDBOX],
      entityIds: [sandboxId],
      excludeEventTypes: HEARTBEAT_EVENT_TYPE_LIST,
      ...(query.cursor !== undefined ? (older ? { before: query.cursor } : { after: query.cursor }) : {}),
      order: older ? 'desc' : 'asc',
      limit: query.limit + 1,
    }),
    events.entityEventStats(ENTITY_TYPES.SANDBOX, sandboxId, HEARTBEAT_EVENT_TYPE_LIST),
  ]);
  const hasMore = read.length > query.limit;
  const page = read.slice(0, query.limit);
  if (!older) page.reverse();
  return {
    sandbox_id: sandboxId,
    events: page.map(toOmoiosItem),
    heartbeat_summary: {
      count: stats.matching,
      first_heartbeat: stats.firstMatchingAt,
      last_heartbeat: stats.lastMatchingAt,
    },
    total_events: stats.total,
    trajectory_events: page.length,
    next_cursor: hasMore ? (page.at(-1)?.id ?? null) : null,
    prev_cursor: page[0]?.id ?? null,
    has_more: hasMore,
  };
}
