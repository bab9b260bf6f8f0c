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
  /** Event types left out (a trajectory without heartbeats). */
  excludeEventTypes?: readonly string[];
  /** Matching events skipped first, in `order` (the original system's offset paging; costs a walk over them). */
  offset?: number;
  limit: number;
}

/** One entity's events, for counting: `eventType` narrows to one type. */
export interface EntityScope {
  entityType: string;
  entityId: string;
  eventType?: string;
}

/** How many events an entity has, and when the first and last of some types (heartbeats) were stored. */
export interface EntityEventStats {
  total: number;
  matching: number;
  firstMatchingAt: string | null;
  lastMatchingAt: string | null;
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
 * 1. `drawn` takes the batch's ids from the one-row counter (`sandbox_event_counter`). The row stays
 *    locked until this statement's transaction commits, so writers, in this process or any other
 *    ingest replica, draw ids one after another in commit order: once id N is visible, every smaller
 *    id that will ever exist is visible too. A reader that has seen N (a resuming WebSocket client, the
 *    gateway's live sequencer) never later finds a smaller id appear, whatever entities it follows.
 *    A statement that fails rolls its draw back, so ids have no holes either.
 * 2. The batch's ids are `base + ordinality`: in input order, contiguous.
 * 3. The rows travel as one JSON array (`$1`), built by concatenating each event's already serialized
 *    data: no per-value array escaping in the client, one parse in Postgres.
 * 4. Every row's `created_at` is the clock read once the counter's row is this statement's
 *    (`clock_timestamp()` in the update's RETURNING), not the statement's start (`now()`): a statement
 *    that waited behind another writer's commit is stamped when it got its ids, so timestamps never go
 *    backwards in id order and a heartbeat that queued is not stored as older than it is.
 * 5. One row comes back, not one per event: the ids follow from `base`, and the stamp (at the column's
 *    millisecond precision) is every row's.
 */
const APPEND_SQL = `
WITH drawn AS (
  UPDATE sandbox_event_counter SET last_id = last_id + $2::bigint WHERE id = 1
  RETURNING last_id - $2::bigint AS base, clock_timestamp()::timestamptz(3) AS stamped
), inserted AS (
  INSERT INTO sandbox_events (id, entity_type, entity_id, event_type, data, source, created_at)
  SELECT drawn.base + t.ord, t.entity_type, t.entity_id, t.event_type, t.data, t.source, drawn.stamped
  FROM drawn, ROWS FROM (
    jsonb_to_recordset($1::jsonb) AS (entity_type text, entity_id text, event_type text, data jsonb, source text)
  ) WITH ORDINALITY AS t(entity_type, entity_id, event_type, data, source, ord)
  RETURNING 1
)
SELECT drawn.base::text AS base, (SELECT count(*) FROM inserted)::int AS inserted,
  to_char(drawn.stamped AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created_at
FROM drawn`;

const quote = JSON.stringify;

/** The rows of `events` as the JSON array APPEND_SQL reads (each event's data spliced in as serialized). */
function rowsJson(events: readonly NewEvent[]): string {
  let json = '[';
  for (let index = 0; index < events.length; index++) {
    const event = events[index]!;
    if (index > 0) json += ',';
    json +=
      `{"entity_type":${quote(event.entityType)},"entity_id":${quote(event.entityId)},` +
      `"event_type":${quote(event.eventType)},"data":${event.dataJson},"source":${event.source === null ? 'null' : quote(event.source)}}`;
  }
  return json + ']';
}

/** Reads and writes the event log (`sandbox_events`). */
export class EventRepository {
  constructor(private readonly pool: Pool) {}

  /** Stores `events` in one statement; the result is in input order with ascending ids. */
  async appendMany(events: readonly NewEvent[]): Promise<EventEnvelope[]> {
    if (events.length === 0) return [];
    // A named statement: each pooled connection parses and plans it once, not on every append (PostgreSQL's
    // CPU per statement, which the group commit pays once per group at any load).
    const { rows } = await this.pool.query<{ base: string; inserted: number; created_at: string }>({
      name: 'sandbox_events_append',
      text: APPEND_SQL,
      values: [rowsJson(events), events.length],
    });
    const row = rows[0];
    if (!row || row.inserted !== events.length)
      throw new Error(`insert stored ${row?.inserted ?? 0} rows for ${events.length} events`);
    const base = BigInt(row.base);
    return events.map((event, index) => ({
      id: String(base + BigInt(index + 1)),
      event_type: event.eventType,
      entity_type: event.entityType,
      entity_id: event.entityId,
      payload: event.data,
      source: event.source,
      timestamp: row.created_at,
    }));
  }

  /** The newest stored event's id, or null for an empty log (one index probe). */
  async newestId(): Promise<string | null> {
    const { rows } = await withStoreErrors(
      this.pool.query<{ id: string | null }>('SELECT max(id)::text AS id FROM sandbox_events'),
    );
    return rows[0]?.id ?? null;
  }

  /**
   * The last id drawn by a committed insert: every event up to it is visible (ids are drawn in commit
   * order). The live stream's starting point; unlike `newestId` it is not moved by a row written with
   * an explicit id.
   */
  async lastCommittedId(): Promise<string> {
    const { rows } = await withStoreErrors(
      this.pool.query<{ id: string }>('SELECT last_id::text AS id FROM sandbox_event_counter WHERE id = 1'),
    );
    return rows[0]?.id ?? '0';
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
    if (query.excludeEventTypes && query.excludeEventTypes.length > 0) {
      params.push(query.excludeEventTypes);
      where.push(`NOT (e.event_type = ANY($${params.length}::text[]))`);
    }
    if (query.before !== undefined) {
      params.push(query.before);
      where.push(`e.id < $${params.length}::bigint`);
    }
    params.push(query.limit);
    let page = `LIMIT $${params.length}`;
    if (query.offset) {
      params.push(query.offset);
      page += ` OFFSET $${params.length}`;
    }
    const direction = query.order === 'desc' ? 'DESC' : 'ASC';
    const { rows } = await withStoreErrors(
      this.pool.query<EventRow>(
        // The output column `id` is text: qualify the table's bigint `e.id` so ORDER BY does not sort strings.
        `SELECT e.id::text AS id, entity_type, entity_id, event_type, data, source, created_at
         FROM sandbox_events e WHERE ${where.join(' AND ')} ORDER BY e.id ${direction} ${page}`,
        params,
      ),
    );
    return rows.map(toEnvelope);
  }

  /**
   * How many events one entity has (of one type, with `eventType`). One `count(*)` over the entity's
   * rows through the `(entity_id, id)` index, each row's type checked in the table: linear in the
   * entity's events (README § "Replacing OmoiOS's sandbox system" has the measured cost).
   */
  async countEntityEvents(scope: EntityScope): Promise<number> {
    const params: unknown[] = [scope.entityId, scope.entityType];
    if (scope.eventType !== undefined) params.push(scope.eventType);
    const { rows } = await withStoreErrors(
      this.pool.query<{ count: string }>(
        `SELECT count(*)::text AS count FROM sandbox_events WHERE entity_id = $1 AND entity_type = $2${scope.eventType !== undefined ? ' AND event_type = $3' : ''}`,
        params,
      ),
    );
    return Number(rows[0]?.count ?? 0);
  }

  /**
   * One entity's event count, and the count, first and last time of its events of `types` (a
   * sandbox's heartbeats): one pass over the entity's rows, as `countEntityEvents`.
   */
  async entityEventStats(entityType: string, entityId: string, types: readonly string[]): Promise<EntityEventStats> {
    const { rows } = await withStoreErrors(
      this.pool.query<{ total: string; matching: string; first_at: Date | null; last_at: Date | null }>(
        `SELECT count(*)::text AS total,
                count(*) FILTER (WHERE event_type = ANY($3::text[]))::text AS matching,
                min(created_at) FILTER (WHERE event_type = ANY($3::text[])) AS first_at,
                max(created_at) FILTER (WHERE event_type = ANY($3::text[])) AS last_at
         FROM sandbox_events WHERE entity_id = $1 AND entity_type = $2`,
        [entityId, entityType, types],
      ),
    );
    const row = rows[0];
    return {
      total: Number(row?.total ?? 0),
      matching: Number(row?.matching ?? 0),
      firstMatchingAt: row?.first_at ? row.first_at.toISOString() : null,
      lastMatchingAt: row?.last_at ? row.last_at.toISOString() : null,
    };
  }

  /**
   * Deletes one entity's events created before `before`, in one statement (the `(entity_id, id)`
   * index narrows it to that entity's rows); no other entity's rows are touched. For retention of
   * synthetic entities such as the gateway canary, never for worker events. Returns how many went.
   */
  async deleteEntityEventsBefore(entityType: string, entityId: string, before: Date): Promise<number> {
    const { rowCount } = await withStoreErrors(
      this.pool.query('DELETE FROM sandbox_events WHERE entity_id = $1 AND entity_type = $2 AND created_at < $3', [
        entityId,
        entityType,
        before,
      ]),
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
