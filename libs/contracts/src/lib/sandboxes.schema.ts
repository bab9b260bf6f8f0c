import { z } from 'zod';
import { EventId, SandboxId } from './ids';
import { TaskUsage } from './tasks.schema';

export const SANDBOX_LIST_LIMITS = {
  LIMIT_DEFAULT: 100,
  LIMIT_MAX: 500,
  /** Newest events scanned to find sandboxes that have events but no session row. */
  RECENT_EVENTS_SCANNED: 20_000,
  /** Newest events of one sandbox its figures (last heartbeat, events in the last minute) are read from. */
  PER_SANDBOX_EVENTS_SCANNED: 1_000,
} as const;

/** `GET /api/v1/sandboxes` query. */
export const SandboxListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(SANDBOX_LIST_LIMITS.LIMIT_MAX).default(SANDBOX_LIST_LIMITS.LIMIT_DEFAULT),
});
export type SandboxListQuery = z.infer<typeof SandboxListQuery>;

/** One sandbox as the dashboard lists it: its session (if the supervisor keeps one), its task, its recent activity. */
export const SandboxSummary = z.object({
  sandbox_id: SandboxId,
  /** `SandboxSession.status` (SANDBOX_SESSION_STATUSES, tasks.schema.ts); null for a sandbox that only has events (a worker started by hand, curl). */
  status: z.string().nullable(),
  restart_count: z.number().int().nullable(),
  /**
   * `ticket_id`: the ticket the task works on (its branch workflow's events are on entity `ticket/<id>`), or null;
   * `cost_usd`, `input_tokens`, `output_tokens`: what its agents reported costing so far (TaskUsage).
   */
  task: TaskUsage.pick({ cost_usd: true, input_tokens: true, output_tokens: true })
    .extend({ id: z.string(), title: z.string(), status: z.string(), ticket_id: z.string().nullable() })
    .nullable(),
  last_event_id: EventId.nullable(),
  last_event_type: z.string().nullable(),
  last_event_at: z.string().nullable(),
  /** The later of the session's recorded heartbeat and the newest heartbeat event (`heartbeat` or the original's `agent.heartbeat`). */
  last_heartbeat_at: z.string().nullable(),
  /** Events stored in the minute before `generated_at` (counted among the sandbox's newest 1,000). */
  events_last_minute: z.number().int(),
});
export type SandboxSummary = z.infer<typeof SandboxSummary>;

/** Answer to `GET /api/v1/sandboxes`: most recently active first. */
export const SandboxList = z.object({
  sandboxes: z.array(SandboxSummary),
  /** The server's clock when the list was read: ages are measured against it, not the browser's clock. */
  generated_at: z.string(),
});
export type SandboxList = z.infer<typeof SandboxList>;
