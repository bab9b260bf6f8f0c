import { z } from 'zod';
import { parseRedisUrl } from './redis-url';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses `source` (normally `process.env`) with an app's zod schema. Every problem is listed by
 * variable name in one readable error, so a misconfigured Deployment fails at start, not at first use.
 */
export function parseEnv<T extends z.ZodType>(schema: T, source: Record<string, string | undefined>): z.infer<T> {
  const result = schema.safeParse(source);
  if (result.success) return result.data;
  throw new ConfigError(result.error.issues.map((issue) => `${issue.path.join('.') || '(env)'}: ${issue.message}`));
}

/** "true"/"1"/"yes" and "false"/"0"/"no", case-insensitive; anything else is an error. */
export const BoolEnv = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', 'TRUE', 'FALSE', 'YES', 'NO'])
  .transform((value) => ['true', '1', 'yes'].includes(value.toLowerCase()));

/**
 * The bridge to the original system's (OmoiOS) event bus, both ways: every service that emits events
 * also publishes them on `events.<event_type>`, and the ingest takes in what OmoiOS's services publish
 * there. Services that emit events extend their env with this. See README "Replacing OmoiOS's sandbox
 * system".
 */
export const OmoiosBridgeEnv = z.object({
  /**
   * `on` (default) or `off`: off, nothing is published on `events.*` and nothing is taken in from it.
   * Exactly these two words: a typo must stop the service at start, not silently pick a side.
   */
  OMOIOS_BRIDGE: z
    .enum(['on', 'off'])
    .default('on')
    .transform((value) => value === 'on'),
});
export type OmoiosBridgeEnv = z.infer<typeof OmoiosBridgeEnv>;

/** A URL whose scheme is one of `protocols`; one readable message whatever is wrong with it. */
function urlWithScheme(protocols: string[], message: string) {
  return z.string().refine((value) => {
    try {
      return protocols.includes(new URL(value).protocol);
    } catch {
      return false;
    }
  }, message);
}

const PostgresUrl = urlWithScheme(['postgres:', 'postgresql:'], 'must be a postgres:// or postgresql:// URL');
/** One node, or a cluster with `?cluster=true` (see parseRedisUrl); every problem is named at start. */
const RedisUrl = z.string().superRefine((value, ctx) => {
  try {
    parseRedisUrl(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
  }
});

/** Variables every service reads. Apps extend this with their own. */
export const BaseEnv = z.object({
  /** Deployment environment; `development` turns on pretty logs if pino-pretty is installed. */
  NODE_ENV: z.enum(['development', 'production', 'test']).default('production'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Interface to bind. Defaults to loopback; a container sets 0.0.0.0. */
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  DATABASE_URL: PostgresUrl.default('postgresql://postgres@127.0.0.1:5432/sandbox_relay'),
  /**
   * One Redis node (`redis://host:6379`), or a Redis Cluster: `redis://seed:6379?cluster=true`, with
   * optional `nodes=host:port,…` (more seeds) and `shards=<n>` (live-event channels, default 16).
   */
  REDIS_URL: RedisUrl.default('redis://127.0.0.1:6379'),
  /** Upper bound on graceful shutdown; past it the process exits anyway. */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).default(25_000),
});
export type BaseEnv = z.infer<typeof BaseEnv>;

/** Removes credentials from URLs before config is logged. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable url)';
  }
}
