import { AuthEnv, refineAuthEnv } from '@sandbox-relay/auth';
import { BaseEnv, ConfigError, OmoiosBridgeEnv, parseEnv } from '@sandbox-relay/service-kit';
import type { SupervisorConfig } from './supervisor';
import { z } from 'zod';

const Millis = (fallback: number, min: number) => z.coerce.number().int().min(min).default(fallback);

export const SupervisorEnv = BaseEnv.extend(AuthEnv.shape)
  .extend(OmoiosBridgeEnv.shape)
  .extend({
    PORT: z.coerce.number().int().min(0).max(65535).default(8085),
    /** Key prefix of the supervisor's Redis state (escalation levels, per-sandbox locks); shared with the queues' prefix. */
    QUEUE_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,50}$/)
      .default('relay'),
    /** Where sandboxes run: `local` (child processes) or `daytona`. Default: daytona when DAYTONA_API_KEY is set, else local. */
    SANDBOX_PROVIDER: z.enum(['local', 'daytona']).optional(),
    /** The relay URL workers report to (ingest + message-queue behind one origin). The standalone defaults it to itself. */
    WORKER_RELAY_URL: z.string().url().optional(),
    /** The bundled worker (tools/build-worker.mjs); default dist/worker/worker.js of the checkout. */
    WORKER_BUNDLE: z.string().min(1).optional(),
    /** Parent of the local provider's workspaces (default the OS temp dir). */
    LOCAL_WORKSPACE_ROOT: z.string().min(1).optional(),
    DAYTONA_API_KEY: z.string().min(1).optional(),
    DAYTONA_API_URL: z.string().url().default('https://app.daytona.io/api'),
    DAYTONA_TARGET: z.string().min(1).optional(),
    DAYTONA_SNAPSHOT: z.string().min(1).optional(),
    /** The workers' heartbeat cadence (handed to each worker) and the ladder's interval. */
    SUPERVISOR_HEARTBEAT_INTERVAL_MS: Millis(15_000, 50),
    /**
     * The original system's (OmoiOS) worker cadence: a sandbox whose newest beat is `agent.heartbeat`
     * (sent every 30 s, only between turns) is measured in this interval, its other events counting as
     * signs of life. Not handed to workers: the original's worker reads its own HEARTBEAT_INTERVAL (s).
     */
    SUPERVISOR_OMOIOS_HEARTBEAT_INTERVAL_MS: Millis(30_000, 50),
    /** Slack on top of each interval before a beat counts as missed. */
    SUPERVISOR_HEARTBEAT_GRACE_MS: Millis(5_000, 0),
    /** Extra time a new sandbox gets for its first beat (booting it and starting its worker) before misses count. */
    SUPERVISOR_STARTUP_GRACE_MS: Millis(60_000, 0),
    /** How often the sweep (ladder, resumed restarts, idle monitor, completions) runs. */
    SUPERVISOR_SWEEP_INTERVAL_MS: Millis(5_000, 20),
    /** Restarts of one task allowed within the window; one more quarantines it. */
    SUPERVISOR_MAX_RESTARTS: z.coerce.number().int().min(0).max(100).default(3),
    SUPERVISOR_RESTART_WINDOW_MS: Millis(600_000, 1_000),
    /** Backoff before the first restart in a window; doubles per restart, capped. */
    SUPERVISOR_RESTART_BACKOFF_MS: Millis(1_000, 1),
    SUPERVISOR_RESTART_BACKOFF_MAX_MS: Millis(30_000, 1),
    /** How long a terminated worker gets to stop gracefully before it is forced (the seed's 10 s). */
    SUPERVISOR_TERMINATE_GRACE_MS: Millis(10_000, 0),
    /** A sandbox without agent activity this long is stopped; 0 turns the idle monitor off. */
    SUPERVISOR_IDLE_AFTER_MS: z.coerce.number().int().min(0).default(900_000),
    /** Lifetime of a per-sandbox lock: a replica that dies mid-restart releases the sandbox after this. */
    SUPERVISOR_LOCK_TTL_MS: Millis(300_000, 1_000),
    DB_POOL_SIZE: z.coerce.number().int().min(2).max(100).default(4),
    /**
     * Lifetime of each sandbox token (auth on): the one a worker gets at spawn and each it renews
     * (at two thirds of the lifetime, `POST /api/v1/sandboxes/:id/token`). Short lifetimes limit what a
     * leaked token can do; a worker that cannot renew in time goes quiet and is restarted with a fresh one.
     */
    SANDBOX_TOKEN_TTL_S: z.coerce
      .number()
      .int()
      .min(10)
      .default(24 * 3600),
    /** Handed to local workers (the provider never reads process.env itself). */
    PATH: z.string().optional(),
    HOME: z.string().optional(),
    LANG: z.string().optional(),
  });
export type SupervisorEnv = z.infer<typeof SupervisorEnv>;

export function parseSupervisorEnv(source: Record<string, string | undefined> = process.env): SupervisorEnv {
  return parseEnv(SupervisorEnv.superRefine(refineAuthEnv), source);
}

/**
 * The supervisor's tunables from its validated env. Cross-field rules are checked here (the env schema
 * stays a plain object so the standalone can merge it), and fail the start with a ConfigError.
 */
export function supervisorConfig(env: SupervisorEnv): SupervisorConfig {
  const problems: string[] = [];
  const provider = env.SANDBOX_PROVIDER ?? (env.DAYTONA_API_KEY ? 'daytona' : 'local');
  if (provider === 'daytona' && !env.DAYTONA_API_KEY)
    problems.push('DAYTONA_API_KEY: is required when SANDBOX_PROVIDER=daytona');
  if (env.SUPERVISOR_RESTART_BACKOFF_MAX_MS < env.SUPERVISOR_RESTART_BACKOFF_MS) {
    problems.push('SUPERVISOR_RESTART_BACKOFF_MAX_MS: must be at least SUPERVISOR_RESTART_BACKOFF_MS');
  }
  // A restart holds the sandbox's lock through its backoff, the old worker's graceful stop and the new
  // spawn; a lock that can expire before the first two are over lets a second replica restart it too.
  const restartFloorMs = env.SUPERVISOR_RESTART_BACKOFF_MAX_MS + env.SUPERVISOR_TERMINATE_GRACE_MS;
  if (env.SUPERVISOR_LOCK_TTL_MS <= restartFloorMs) {
    problems.push(
      `SUPERVISOR_LOCK_TTL_MS: must exceed SUPERVISOR_RESTART_BACKOFF_MAX_MS + SUPERVISOR_TERMINATE_GRACE_MS (${restartFloorMs} ms), with room for a spawn`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    provider,
    keyPrefix: env.QUEUE_PREFIX,
    heartbeat: {
      intervalMs: env.SUPERVISOR_HEARTBEAT_INTERVAL_MS,
      omoiosIntervalMs: env.SUPERVISOR_OMOIOS_HEARTBEAT_INTERVAL_MS,
      graceMs: env.SUPERVISOR_HEARTBEAT_GRACE_MS,
      startupGraceMs: env.SUPERVISOR_STARTUP_GRACE_MS,
    },
    sweepIntervalMs: env.SUPERVISOR_SWEEP_INTERVAL_MS,
    restart: {
      maxRestarts: env.SUPERVISOR_MAX_RESTARTS,
      windowMs: env.SUPERVISOR_RESTART_WINDOW_MS,
      baseBackoffMs: env.SUPERVISOR_RESTART_BACKOFF_MS,
      maxBackoffMs: env.SUPERVISOR_RESTART_BACKOFF_MAX_MS,
    },
    terminateGraceMs: env.SUPERVISOR_TERMINATE_GRACE_MS,
    idleAfterMs: env.SUPERVISOR_IDLE_AFTER_MS,
    lockTtlMs: env.SUPERVISOR_LOCK_TTL_MS,
  };
}
