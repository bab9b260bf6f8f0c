import { BaseEnv, OmoiosBridgeEnv, parseEnv } from '@sandbox-relay/service-kit';
import { z } from 'zod';

export const GuardianEnv = BaseEnv.extend(OmoiosBridgeEnv.shape).extend({
  /** Health endpoints only; the guardian serves no API. */
  PORT: z.coerce.number().int().min(0).max(65535).default(8084),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,50}$/)
    .default('relay'),
  /** A sandbox with no progress (no event but heartbeats) for this long is "stuck". */
  GUARDIAN_STUCK_AFTER_MS: z.coerce.number().int().min(1_000).default(300_000),
  /** The same tool call with the same arguments this many times in a row is a loop. */
  GUARDIAN_LOOPING_AT: z.coerce.number().int().min(2).default(3),
  /** This many failed tool results in a row is an error storm. */
  GUARDIAN_ERROR_STORM_AT: z.coerce.number().int().min(2).default(5),
  /** At most one intervention per sandbox per window, across replicas. */
  GUARDIAN_COOLDOWN_MS: z.coerce.number().int().min(1_000).default(600_000),
  /** How often the stuck detector runs. */
  GUARDIAN_SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).default(30_000),
  /** If set, legacy conversation directories must lie under it. */
  GUARDIAN_CONVERSATIONS_ROOT: z.string().min(1).optional(),
  DB_POOL_SIZE: z.coerce.number().int().min(2).max(100).default(4),
});
export type GuardianEnv = z.infer<typeof GuardianEnv>;

export function parseGuardianEnv(source: Record<string, string | undefined> = process.env): GuardianEnv {
  return parseEnv(GuardianEnv, source);
}
