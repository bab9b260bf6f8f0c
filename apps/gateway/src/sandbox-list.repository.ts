import {
  CANARY_SANDBOX_ID,
  ENTITY_TYPES,
  HEARTBEAT_EVENT_TYPE_LIST,
  SANDBOX_LIST_LIMITS,
  type SandboxSummary,
} from '@sandbox-relay/contracts';
import { withStoreErrors, type Store } from '@sandbox-relay/store';

const TASK_SELECT = {
  id: true,
  title: true,
  status: true,
  ticketId: true,
  costUsd: true,
  inputTokens: true,
  outputTokens: true,
} as const;
const SESSION_INCLUDE = { task: { select: TASK_SELECT } } as const;

interface SessionWithTask {
  sandboxId: string;
  status: string;
  restartCount: number;
  lastHeartbeatAt: Date | null;
  updatedAt: Date;
  task: TaskRow | null;
}

interface TaskRow {
  id: string;
  title: string;
  status: string;
  ticketId: string | null;
  costUsd: number;
  inputTokens: bigint;
  outputTokens: bigint;
}

const taskView = (task: TaskRow): NonNullable<SandboxSummary['task']> => ({
  id: task.id,
  title: task.title,
  status: task.status,
  ticket_id: task.ticketId,
  cost_usd: task.costUsd,
  input_tokens: Number(task.inputTokens),
  output_tokens: Number(task.outputTokens),
});

interface ActivityRow {
  sandbox_id: string;
  last_event_id: string | null;
  last_event_type: string | null;
  last_event_at: Date | null;
  last_heartbeat_at: Date | null;
  events_last_minute: number | null;
}

/*
 * Sandboxes with events among the newest events of the log, most recently active first. The primary
 * key read backwards with a limit (the entity type checked after it, so no planner estimate can turn
 * it into a scan of every sandbox event): the cost is bounded by the scan, not by the table's size.
 * The gateway canary's reserved sandbox is never listed.
 */
const RECENT_SANDBOXES_SQL = `
SELECT entity_id FROM (
  SELECT entity_id, entity_type, id FROM sandbox_events ORDER BY id DESC LIMIT $2
) recent WHERE entity_type = $1 AND entity_id <> '${CANARY_SANDBOX_ID}' GROUP BY entity_id ORDER BY max(id) DESC LIMIT $3`;

/*
 * The most recently active of a token's own sandboxes: each one's newest event through the
 * (entity_id, id) index, one probe per id, so a scoped viewer's list is complete however many other
 * sandboxes are busier (filtering the global list afterwards could leave it short or empty).
 */
const SCOPED_RECENT_SQL = `
SELECT s.id AS entity_id
FROM unnest($1::text[]) AS s(id)
JOIN LATERAL (
  SELECT e.id FROM sandbox_events e WHERE e.entity_id = s.id AND e.entity_type = $2 ORDER BY e.id DESC LIMIT 1
) last ON true
WHERE s.id <> '${CANARY_SANDBOX_ID}'
ORDER BY last.id DESC LIMIT $3`;

/*
 * Each sandbox's figures from its own newest events: the (entity_id, id) index read backwards and
 * bounded, so a sandbox with a million events costs what one with a thousand does. The entity type
 * is checked after the limit on purpose: inside, the planner may AND the (entity_type, id) index
 * (every sandbox event) into the scan, measured at 5 ms per sandbox instead of 0.4.
 */
const ACTIVITY_SQL = `
SELECT s.id AS sandbox_id, a.*
FROM unnest($1::text[]) AS s(id)
LEFT JOIN LATERAL (
  SELECT max(r.id)::text AS last_event_id,
         (array_agg(r.event_type ORDER BY r.id DESC))[1] AS last_event_type,
         max(r.created_at) AS last_event_at,
         max(r.created_at) FILTER (WHERE r.event_type = ANY($3::text[])) AS last_heartbeat_at,
         (count(*) FILTER (WHERE r.created_at > now() - interval '60 seconds'))::int AS events_last_minute
  FROM (
    SELECT id, entity_type, event_type, created_at FROM sandbox_events
    WHERE entity_id = s.id ORDER BY id DESC LIMIT $4
  ) r
  WHERE r.entity_type = $2
) a ON true`;

/**
 * The dashboard's sandbox list: the supervisor's sessions (with their task) joined with each
 * sandbox's recent events, plus sandboxes that only have events (a worker started by hand, curl).
 */
export class SandboxListRepository {
  constructor(private readonly store: Store) {}

  /**
   * The most recently active sandboxes, at most `limit`; with `scope` (a token's sandboxes), the most
   * recently active of those, chosen in the queries themselves.
   */
  async list(limit: number, scope: '*' | ReadonlySet<string> = '*'): Promise<SandboxSummary[]> {
    const scoped = scope === '*' ? undefined : [...scope];
    if (scoped?.length === 0) return [];
    const [sessions, recentIds] = await withStoreErrors(
      Promise.all([
        this.store.prisma.sandboxSession.findMany({
          where: scoped ? { sandboxId: { in: scoped } } : undefined,
          orderBy: { updatedAt: 'desc' },
          take: limit,
          include: SESSION_INCLUDE,
        }),
        (scoped
          ? this.store.pool.query<{ entity_id: string }>(SCOPED_RECENT_SQL, [scoped, ENTITY_TYPES.SANDBOX, limit])
          : this.store.pool.query<{ entity_id: string }>(RECENT_SANDBOXES_SQL, [
              ENTITY_TYPES.SANDBOX,
              SANDBOX_LIST_LIMITS.RECENT_EVENTS_SCANNED,
              limit,
            ])
        ).then(({ rows }) => rows.map((row) => row.entity_id)),
      ]),
    );
    const ids = [...new Set([...recentIds, ...sessions.map((session) => session.sandboxId)])];
    return (await this.summarize(ids, sessions)).slice(0, limit);
  }

  /** One sandbox, or undefined when it has neither a session nor an event. */
  async get(sandboxId: string): Promise<SandboxSummary | undefined> {
    const session = await withStoreErrors(
      this.store.prisma.sandboxSession.findUnique({ where: { sandboxId }, include: SESSION_INCLUDE }),
    );
    const [summary] = await this.summarize([sandboxId], session ? [session] : []);
    if (!summary || (!session && summary.last_event_id === null)) return undefined;
    return summary;
  }

  private async summarize(ids: string[], sessions: SessionWithTask[]): Promise<SandboxSummary[]> {
    if (ids.length === 0) return [];
    const bySession = new Map(sessions.map((session) => [session.sandboxId, session]));
    const withoutSession = ids.filter((id) => !bySession.has(id));
    const [activity, tasks] = await withStoreErrors(
      Promise.all([
        this.store.pool.query<ActivityRow>(ACTIVITY_SQL, [
          ids,
          ENTITY_TYPES.SANDBOX,
          // Both workers' beats: the relay's `heartbeat` and the original's `agent.heartbeat`.
          HEARTBEAT_EVENT_TYPE_LIST,
          SANDBOX_LIST_LIMITS.PER_SANDBOX_EVENTS_SCANNED,
        ]),
        withoutSession.length === 0
          ? Promise.resolve([])
          : this.store.prisma.task.findMany({
              where: { sandboxId: { in: withoutSession } },
              select: { ...TASK_SELECT, sandboxId: true },
              orderBy: { updatedAt: 'desc' },
            }),
      ]),
    );
    const taskBySandbox = new Map<string, TaskRow>();
    for (const task of tasks) {
      if (task.sandboxId && !taskBySandbox.has(task.sandboxId)) taskBySandbox.set(task.sandboxId, task);
    }
    const summaries = activity.rows.map((row): SandboxSummary & { sortKey: number } => {
      const session = bySession.get(row.sandbox_id);
      const heartbeat = latest(row.last_heartbeat_at, session?.lastHeartbeatAt ?? null);
      const task = session?.task ?? taskBySandbox.get(row.sandbox_id);
      return {
        sandbox_id: row.sandbox_id,
        status: session?.status ?? null,
        restart_count: session?.restartCount ?? null,
        task: task ? taskView(task) : null,
        last_event_id: row.last_event_id,
        last_event_type: row.last_event_type,
        last_event_at: row.last_event_at?.toISOString() ?? null,
        last_heartbeat_at: heartbeat?.toISOString() ?? null,
        events_last_minute: row.events_last_minute ?? 0,
        sortKey: latest(row.last_event_at, session?.updatedAt ?? null)?.getTime() ?? 0,
      };
    });
    summaries.sort((a, b) => b.sortKey - a.sortKey || a.sandbox_id.localeCompare(b.sandbox_id));
    return summaries.map(({ sortKey: _sortKey, ...summary }) => summary);
  }
}

function latest(a: Date | null, b: Date | null): Date | null {
  if (!a) return b;
  if (!b) return a;
  return a.getTime() >= b.getTime() ? a : b;
}
