import type { EventEnvelope } from '@sandbox-relay/contracts';
import type { Pool } from 'pg';
import { withStoreErrors } from './store-errors';

/** An event to store: its data, and the same data serialized (the edge serialized it once, to measure it). */
export interface NewEvent {
  entityType: string;
  entityId: string;
  eventType: string;
  data: Record<string, unknown>;
  dataJson: string;
  source: string | null;
}

export interface EventQuery {
  entityTypes?: readonly string[];
  entityIds?: readonly string[];
  eventTypes?: readonly string[];
  /** Exclusive lower bound (decimal id); absent means from the start. */
  after?: string;
  /** Exclusive upper bound (decimal id); absent means up to the newest. */
  before?: string;
  /** `asc` (default) pages forward from `after`; `desc` reads the newest first (e.g. an agent's recent steps). */
  order?: 'asc' | 'desc';
  limit: number;
}

interface EventRow {
  id: string;
  entity_type: string;
  entity_id: string;
  event_type: string;
  data: Record<string, unknown>;
  source: string | null;
  created_at: Date;
}

/*
 * One statement, one round-trip, for any number of events:
 * 1. `locked` takes a transaction-scoped advisory lock per distinct entity, in sorted order (no
 *    deadlocks between writers). Two ingest replicas writing for one sandbox therefore commit in the
 *    order their ids were drawn, so a reader that has seen id N of a sandbox never later finds a
 *    smaller id of it appear: the per-sandbox resume cursor has no holes.
 * 2. The insert draws ids from the sequence in array order (the id default is evaluated over rows in
 *    ordinality order, which the planner keeps), so ids increase in the order events were accepted.
 */
const APPEND_SQL = `
WITH locked AS (
  SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest($6::text[]) AS k
)
INSERT INTO sandbox_events (entity_type, entity_id, event_type, data, source)
SELECT t.entity_type, t.entity_id, t.event_type, t.data, t.source
FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::text[])
  WITH ORDINALITY AS t(entity_type, entity_id, event_type, data, source, ord)
WHERE (SELECT count(*) FROM locked) >= 0
ORDER BY t.ord
RETURNING id::text AS id, created_at`;

/** Reads and writes the event log (`sandbox_events`). */
export class EventRepository {
  constructor(private readonly pool: Pool) {}

  /** Stores `events` in one statement; the result is in input order with ascending ids. */
  async appendMany(events: readonly NewEvent[]): Promise<EventEnvelope[]> {
    if (events.length === 0) return [];
    const lockKeys = [...new Set(events.map((event) => `${event.entityType}:${event.entityId}`))].sort();
    const { rows } = await this.pool.query<{ id: string; created_at: Date }>(APPEND_SQL, [
      events.map((event) => event.entityType),
      events.map((event) => event.entityId),
      events.map((event) => event.eventType),
      events.map((event) => event.dataJson),
      events.map((event) => event.source),
      lockKeys,
    ]);
    // RETURNING order is not guaranteed by SQL; ids are, so pair them up by rank.
    rows.sort((a, b) => compareIds(a.id, b.id));
    return events.map((event, index) => {
      const row = rows[index];
      if (!row) throw new Error(`insert returned ${rows.length} rows for ${events.length} events`);
      return {
        id: row.id,
        event_type: event.eventType,
        entity_type: event.entityType,
        entity_id: event.entityId,
        payload: event.data,
        source: event.source,
        timestamp: row.created_at.toISOString(),
      };
    });
  }

  /** The newest stored event's id, or null for an empty log (one index probe). */
  async newestId(): Promise<string | null> {
    const { rows } = await withStoreErrors(this.pool.query<{ id: string | null }>('SELECT max(id)::text AS id FROM sandbox_events'));
    return rows[0]?.id ?? null;
  }

  /** Matching events with `after` < id < `before`, in id order (ascending unless `order: 'desc'`), at most `limit`. */
  async list(query: EventQuery): Promise<EventEnvelope[]> {
    const where = ['e.id > $1::bigint'];
    const params: unknown[] = [query.after ?? '0'];
    const addFilter = (column: string, values: readonly string[] | undefined) => {
      if (!values || values.length === 0) return;
      params.push(values);
      where.push(`e.${column} = ANY($${params.length}::text[])`);
    };
    addFilter('entity_type', query.entityTypes);
    addFilter('entity_id', query.entityIds);
    addFilter('event_type', query.eventTypes);
    if (query.before !== undefined) {
      params.push(query.before);
      where.push(`e.id < $${params.length}::bigint`);
    }
    params.push(query.limit);
    const direction = query.order === 'desc' ? 'DESC' : 'ASC';
    const { rows } = await withStoreErrors(
      this.pool.query<EventRow>(
        // The output column `id` is text: qualify the table's bigint `e.id` so ORDER BY does not sort strings.
        `SELECT e.id::text AS id, entity_type, entity_id, event_type, data, source, created_at
         FROM sandbox_events e WHERE ${where.join(' AND ')} ORDER BY e.id ${direction} LIMIT $${params.length}`,
        params,
      ),
    );
    return rows.map(toEnvelope);
  }

  /**
   * Deletes one entity's events created before `before`, in one statement (the `(entity_id, id)`
   * index narrows it to that entity's rows); no other entity's rows are touched. For retention of
   * synthetic entities such as the gateway canary, never for worker events. Returns how many went.
   */
  async deleteEntityEventsBefore(entityType: string, entityId: string, before: Date): Promise<number> {
    const { rowCount } = await withStoreErrors(
      this.pool.query('DELETE FROM sandbox_events WHERE entity_id = $1 AND entity_type = $2 AND created_at < $3', [entityId, entityType, before]),
    );
    return rowCount ?? 0;
  }
}

function toEnvelope(row: EventRow): EventEnvelope {
  return {
    id: row.id,
    event_type: row.event_type,
    entity_type: row.entity_type,
    entity_id: row.entity_id,
    payload: row.data,
    source: row.source,
    timestamp: row.created_at.toISOString(),
  };
}

/** Orders decimal id strings numerically without BigInt allocations (no leading zeros on the wire). */
export function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}
