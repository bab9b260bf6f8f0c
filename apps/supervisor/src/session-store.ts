import {
  HEARTBEAT_EVENT_TYPE_LIST,
  LIVE_SESSION_STATUSES,
  NON_AGENT_EVENT_SOURCES,
  isHeartbeatStatus,
  type HeartbeatStatus,
  type SandboxSessionStatus,
} from '@sandbox-relay/contracts';
import { withStoreErrors, type Store } from '@sandbox-relay/store';

/** One live session with what the event store says about it, as one sweep reads it. */
export interface SweptSession {
  sandboxId: string;
  taskId: string | null;
  status: SandboxSessionStatus;
  restartCount: number;
  /** Whether the task names this sandbox as its current one (a `starting` replacement does not yet). */
  current: boolean;
  /** Epoch ms. */
  startedAt: number;
  /** The newest heartbeat of the sandbox (epoch ms), its `status` and its type (`heartbeat` or `agent.heartbeat`), when it has beaten. */
  lastHeartbeatAt: number | null;
  /** The latest heartbeat's `status` (HEARTBEAT_STATUSES); null when it reported none the relay knows. */
  lastHeartbeatStatus: HeartbeatStatus | null;
  lastHeartbeatType: string | null;
  /** The newest event other than a heartbeat that the sandbox itself reported (epoch ms). */
  lastActivityAt: number | null;
  /** The newest of its events whose effect on the task has been read (`TaskEvents`), a bigint as a decimal string. */
  taskEventsCursor: string;
}

interface SweepRow {
  sandbox_id: string;
  task_id: string | null;
  status: SandboxSessionStatus;
  restart_count: number;
  current: boolean;
  started_at: number;
  hb_at: number | null;
  hb_status: string | null;
  hb_type: string | null;
  act_at: number | null;
  te_cursor: string;
  db_now: number;
}

const SWEPT_STATUSES: readonly SandboxSessionStatus[] = ['starting', ...LIVE_SESSION_STATUSES];

/*
 * Liveness comes from the event store, not from a copy the supervisor keeps: every heartbeat is already
 * a committed row, so a supervisor that restarts (or a second replica) sees exactly what the first saw,
 * and a pub/sub message lost while Redis reconnected loses nothing. Each LATERAL reads one row through
 * the (entity_id, id) index backwards, so a sweep costs one index probe per live sandbox. `db_now` is the
 * database's clock, the same clock that stamped the events: replicas with skewed clocks agree.
 * (`sandbox_sessions` timestamps are `timestamp without time zone` holding UTC, as Prisma writes them.)
 */
const SWEEP_SQL = `
SELECT s.sandbox_id, s.task_id, s.status, s.restart_count, t.sandbox_id IS NOT DISTINCT FROM s.sandbox_id AS current,
       (extract(epoch FROM s.created_at AT TIME ZONE 'UTC') * 1000)::float8 AS started_at,
       (extract(epoch FROM hb.created_at) * 1000)::float8 AS hb_at,
       hb.data->>'status' AS hb_status, hb.event_type AS hb_type,
       (extract(epoch FROM act.created_at) * 1000)::float8 AS act_at, s.task_events_cursor::text AS te_cursor,
       (extract(epoch FROM now()) * 1000)::float8 AS db_now
FROM sandbox_sessions s
JOIN tasks t ON t.id = s.task_id AND t.spec->>'scope' = $3
LEFT JOIN LATERAL (
  SELECT e.created_at, e.data, e.event_type FROM sandbox_events e
  WHERE e.entity_id = s.sandbox_id AND e.entity_type = 'sandbox' AND e.event_type = ANY($4::text[])
  ORDER BY e.id DESC LIMIT 1
) hb ON true
LEFT JOIN LATERAL (
  SELECT e.created_at FROM sandbox_events e
  WHERE e.entity_id = s.sandbox_id AND e.entity_type = 'sandbox' AND e.event_type <> ALL($4::text[])
    AND coalesce(e.source, '') <> ALL($2::text[])
  ORDER BY e.id DESC LIMIT 1
) act ON true
WHERE s.status = ANY($1::text[])
ORDER BY s.created_at`;

/** Reads live sessions for the sweep, and records what it saw. */
export class SessionStore {
  /** @param scope the supervisor's key prefix: only sessions of tasks it started (`Task.spec.scope`) are swept. */
  constructor(
    private readonly store: Store,
    private readonly scope: string,
  ) {}

  /**
   * Every live session of this supervisor's tasks (and every `starting` one: a spawn under way, or one
   * that never reported) with its last heartbeat and activity, and the database's clock. */
  async sweepView(): Promise<{ now: number; sessions: SweptSession[] }> {
    const { rows } = await withStoreErrors(
      this.store.pool.query<SweepRow>(SWEEP_SQL, [
        SWEPT_STATUSES,
        NON_AGENT_EVENT_SOURCES,
        this.scope,
        HEARTBEAT_EVENT_TYPE_LIST,
      ]),
    );
    const now = rows[0]?.db_now ?? (await this.databaseNow());
    return {
      now,
      sessions: rows.map((row) => ({
        sandboxId: row.sandbox_id,
        taskId: row.task_id,
        status: row.status,
        restartCount: row.restart_count,
        current: row.current,
        startedAt: row.started_at,
        lastHeartbeatAt: row.hb_at,
        lastHeartbeatStatus: isHeartbeatStatus(row.hb_status) ? row.hb_status : null,
        lastHeartbeatType: row.hb_type,
        lastActivityAt: row.act_at,
        taskEventsCursor: row.te_cursor,
      })),
    };
  }

  /** Moves `SandboxSession.lastHeartbeatAt` forward to the newest heartbeats seen (never back), in one statement. */
  async recordHeartbeats(seen: readonly { sandboxId: string; at: number }[]): Promise<void> {
    if (seen.length === 0) return;
    await withStoreErrors(
      this.store.pool.query(
        `UPDATE sandbox_sessions s SET last_heartbeat_at = to_timestamp(v.at / 1000.0) AT TIME ZONE 'UTC'
         FROM unnest($1::text[], $2::float8[]) AS v(id, at)
         WHERE s.sandbox_id = v.id AND (s.last_heartbeat_at IS NULL OR s.last_heartbeat_at < to_timestamp(v.at / 1000.0) AT TIME ZONE 'UTC')`,
        [seen.map((item) => item.sandboxId), seen.map((item) => item.at)],
      ),
    );
  }

  /**
   * Moves a session from one of `from` to `to`; true when this call made the change (a compare-and-set
   * in PostgreSQL, so of several replicas exactly one wins).
   */
  async transition(
    sandboxId: string,
    from: readonly SandboxSessionStatus[],
    to: SandboxSessionStatus,
  ): Promise<boolean> {
    const { count } = await withStoreErrors(
      this.store.prisma.sandboxSession.updateMany({
        where: { sandboxId, status: { in: [...from] } },
        data: { status: to },
      }),
    );
    return count > 0;
  }

  async status(sandboxId: string): Promise<SandboxSessionStatus | null> {
    const row = await withStoreErrors(
      this.store.prisma.sandboxSession.findUnique({ where: { sandboxId }, select: { status: true } }),
    );
    return (row?.status as SandboxSessionStatus | undefined) ?? null;
  }

  private async databaseNow(): Promise<number> {
    const { rows } = await withStoreErrors(
      this.store.pool.query<{ now: number }>(`SELECT (extract(epoch FROM now()) * 1000)::float8 AS now`),
    );
    return rows[0]!.now;
  }
}
