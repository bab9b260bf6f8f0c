import { SandboxId, parsePlanJson } from '@sandbox-relay/contracts';
import path from 'node:path';
import { z } from 'zod';

/**
 * Thrown by `parseWorkerEnv` with every problem listed by variable name. The worker keeps its own
 * copy of service-kit's ConfigError on purpose: importing service-kit would inline express and pino
 * HTTP plumbing into a bundle that must stay small enough to upload into every sandbox.
 */
export class WorkerConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid worker configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'WorkerConfigError';
  }
}

/** Providers pass every variable, set or not; an empty string means "not set", not "set to nothing". */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (typeof value === 'string' && value.trim() === '' ? undefined : value), schema.optional());

const HttpUrl = z.string().refine((value) => {
  try {
    return ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}, 'must be an http:// or https:// URL');

const Millis = (fallback: number, min: number) => z.coerce.number().int().min(min).default(fallback);

/** The worker's whole configuration, given by the provider as env at spawn. */
export const WorkerEnv = z
  .object({
    /** Base URL of the relay's edge (ingest and message-queue behind one origin), e.g. http://relay:18000. */
    RELAY_URL: HttpUrl.transform((value) => value.replace(/\/+$/, '')),
    /** Which sandbox this worker reports as: the `:sandboxId` of every path it calls. */
    SANDBOX_ID: SandboxId,
    /** The task this sandbox works on; reported in `agent.started` and every heartbeat. */
    TASK_ID: z.string().trim().min(1).max(200),
    /** The sandbox token the supervisor issued at spawn, sent as `Authorization: Bearer <token>` on every call (needed when the relay runs with auth on). */
    RELAY_TOKEN: optional(z.string()),
    /** The agent adapter: `shell` (deterministic plans of real commands) or `claude` (the Claude Agent
     *  SDK, which then needs ANTHROPIC_API_KEY and the SDK installed where the worker runs). */
    AGENT: z.enum(['shell', 'claude']).default('shell'),
    /** The task in words. The shell agent runs it as a plan when it is JSON, else acknowledges it. Neither
     *  TASK_PROMPT nor TASK_PLAN set is valid: the worker starts idle and waits for its first message. */
    TASK_PROMPT: optional(z.string()),
    /** Set by the supervisor on a replacement worker: what the task's previous sandboxes did (built from
     *  the event store), handed to the agent with its first turn so it continues instead of starting over. */
    TASK_CONTEXT: optional(z.string()),
    /** A JSON plan for the shell agent (see the contracts' shell-plan.schema.ts); checked here so a bad plan fails at start. */
    TASK_PLAN: optional(
      z.string().superRefine((text, ctx) => {
        const plan = parsePlanJson(text);
        if (!plan.ok) ctx.addIssue({ code: 'custom', message: plan.error });
      }),
    ),
    /** Where the agent works; relative paths resolve against the worker's cwd. */
    WORKSPACE_DIR: z
      .string()
      .min(1)
      .default('.')
      .transform((value) => path.resolve(value)),
    /** Cadence of the `heartbeat` event (the supervisor counts missed intervals of 15 s). */
    HEARTBEAT_INTERVAL_MS: Millis(15_000, 10),
    /** How often messages are polled, idle and during a turn: the upper bound on interrupt latency. */
    POLL_INTERVAL_MS: Millis(1_000, 10),
    /** Events kept in memory while the relay is unreachable; past it the oldest heartbeats go first. */
    OUTBOX_MAX_EVENTS: z.coerce.number().int().min(10).default(10_000),
    /** How long SIGTERM waits for the outbox to drain before the process exits anyway. */
    SHUTDOWN_FLUSH_MS: Millis(5_000, 0),
    /** Between SIGTERM and SIGKILL of an interrupted command's process group. */
    KILL_GRACE_MS: Millis(2_000, 0),
    /** Required by `AGENT=claude`; never logged, never passed to plan commands. */
    ANTHROPIC_API_KEY: optional(z.string()),
    /** The Messages API origin for `AGENT=claude` (a proxy or gateway); default Anthropic's. */
    ANTHROPIC_BASE_URL: optional(HttpUrl),
    /** The model for `AGENT=claude`, e.g. `claude-sonnet-4-5`; default Claude Code's own. */
    ANTHROPIC_MODEL: optional(z.string().trim().min(1)),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .superRefine((env, ctx) => {
    // Refuse at start rather than fail every turn (or silently run another agent than the one asked for).
    if (env.AGENT === 'claude' && env.ANTHROPIC_API_KEY === undefined) {
      ctx.addIssue({ code: 'custom', path: ['ANTHROPIC_API_KEY'], message: 'is required when AGENT=claude' });
    }
  });
export type WorkerConfig = z.infer<typeof WorkerEnv>;

/**
 * Reads and checks the worker's env once, at start. Throws a `WorkerConfigError` naming every bad
 * variable, so a misconfigured sandbox stops with one readable message instead of failing later.
 */
export function parseWorkerEnv(source: Record<string, string | undefined>): WorkerConfig {
  const result = WorkerEnv.safeParse(source);
  if (result.success) return result.data;
  throw new WorkerConfigError(
    result.error.issues.map((issue) => {
      const name = issue.path.join('.') || '(env)';
      // zod says "expected string, received undefined"; an operator reading a sandbox log wants this.
      const unset = issue.code === 'invalid_type' && issue.path.length === 1 && source[name] === undefined;
      return `${name}: ${unset ? 'is required but not set' : issue.message}`;
    }),
  );
}

/** The config without secrets, for the start-up log line. */
export function redactedConfig(config: WorkerConfig): Record<string, unknown> {
  const { RELAY_TOKEN, ANTHROPIC_API_KEY, TASK_PLAN, TASK_PROMPT, TASK_CONTEXT, ...rest } = config;
  return {
    ...rest,
    RELAY_TOKEN: RELAY_TOKEN ? '[redacted]' : undefined,
    ANTHROPIC_API_KEY: ANTHROPIC_API_KEY ? '[redacted]' : undefined,
    TASK_PLAN: TASK_PLAN ? `${TASK_PLAN.length} chars` : undefined,
    TASK_PROMPT: TASK_PROMPT ? `${TASK_PROMPT.length} chars` : undefined,
    TASK_CONTEXT: TASK_CONTEXT ? `${TASK_CONTEXT.length} chars` : undefined,
  };
}
