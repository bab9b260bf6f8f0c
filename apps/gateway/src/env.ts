import { AuthEnv, refineAuthEnv } from '@sandbox-relay/auth';
import { BaseEnv, BoolEnv, parseEnv } from '@sandbox-relay/service-kit';
import { z } from 'zod';

export const GatewayEnv = BaseEnv.extend(AuthEnv.shape).extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(8082),
  /** Interval of `{"type":"ping"}` frames and protocol pings; a client silent for a whole interval is dropped. */
  WS_PING_INTERVAL_MS: z.coerce.number().int().min(100).default(30_000),
  /** Per-client send buffer bound; a client that falls further behind is closed with 4008 and resumes with `since`. */
  WS_MAX_BUFFERED_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
  /** Live events held per client while its replay runs. */
  WS_MAX_REPLAY_BUFFER: z.coerce.number().int().min(10).default(10_000),
  WS_REPLAY_PAGE_SIZE: z.coerce.number().int().min(1).max(1000).default(500),
  WS_MAX_CLIENTS: z.coerce.number().int().min(1).default(50_000),
  /**
   * The original protocol (`/api/v1/ws/events`): a `{"type":"ping"}` frame after this long without a
   * client message, as the original sends after 30 s. Its liveness checks are WS_PING_INTERVAL_MS's.
   */
  WS_OMOIOS_IDLE_PING_MS: z.coerce.number().int().min(100).default(30_000),
  /** With auth on: how long a new socket has to send `{"type":"auth","token":…}` before it is closed with 4401. */
  WS_AUTH_TIMEOUT_MS: z.coerce.number().int().min(50).default(5_000),
  DB_POOL_SIZE: z.coerce.number().int().min(2).max(100).default(5),
  /** The end-to-end canary (see CANARY_SANDBOX_ID): on, readiness is red while the gateway's own canary events stop arriving. */
  CANARY_ENABLED: BoolEnv.default(true),
  /** How often a canary event is stored and published. */
  CANARY_INTERVAL_MS: z.coerce.number().int().min(50).default(10_000),
  /** No canary event for this long turns readiness red; must be longer than the interval. */
  CANARY_MAX_AGE_MS: z.coerce.number().int().min(100).default(30_000),
  /** Stored canary events older than this are deleted (each beat, one DELETE of the canary entity's rows only). */
  CANARY_RETENTION_MS: z.coerce.number().int().min(1_000).default(3_600_000),
  /** The dashboard's built files, served at `/` (relative to the working directory). */
  DASHBOARD_DIR: z.string().min(1).default('dist/apps/dashboard'),
});
export type GatewayEnv = z.infer<typeof GatewayEnv>;

export function parseGatewayEnv(source: Record<string, string | undefined> = process.env): GatewayEnv {
  return parseEnv(
    GatewayEnv.superRefine(refineAuthEnv).refine((env) => env.CANARY_MAX_AGE_MS > env.CANARY_INTERVAL_MS, {
      path: ['CANARY_MAX_AGE_MS'],
      message: 'must be longer than CANARY_INTERVAL_MS',
    }),
    source,
  );
}
