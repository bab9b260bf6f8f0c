import { AuthEnv, refineAuthEnv } from '@sandbox-relay/auth';
import { BaseEnv, OmoiosBridgeEnv, parseEnv } from '@sandbox-relay/service-kit';
import { z } from 'zod';

export const IngestEnv = BaseEnv.extend(AuthEnv.shape)
  .extend(OmoiosBridgeEnv.shape)
  .extend({
    PORT: z.coerce.number().int().min(0).max(65535).default(8081),
    /** Largest single-event request body. An event's data is capped at 256 KiB serialized; this leaves room for escaping. */
    EVENT_BODY_LIMIT: z.string().default('1mb'),
    /** Largest batch request body (up to 1000 events). */
    BATCH_BODY_LIMIT: z.string().default('16mb'),
    /** Most events one group-commit statement writes. */
    GROUP_COMMIT_MAX_EVENTS: z.coerce.number().int().min(1).max(10_000).default(1000),
    DB_POOL_SIZE: z.coerce.number().int().min(2).max(100).default(10),
    /** Event POSTs (single or batch) one sandbox may make per RATE_LIMIT_WINDOW_S, across replicas; 0 = no limit. */
    RATE_LIMIT_EVENTS_PER_WINDOW: z.coerce.number().int().min(0).default(3000),
    RATE_LIMIT_WINDOW_S: z.coerce.number().int().min(1).max(3600).default(10),
  });
export type IngestEnv = z.infer<typeof IngestEnv>;

export function parseIngestEnv(source: Record<string, string | undefined> = process.env): IngestEnv {
  return parseEnv(IngestEnv.superRefine(refineAuthEnv), source);
}

/** The ingest's tunables, from its validated env. */
export function ingestConfig(env: IngestEnv) {
  return {
    eventBodyLimit: env.EVENT_BODY_LIMIT,
    batchBodyLimit: env.BATCH_BODY_LIMIT,
    groupCommitMaxEvents: env.GROUP_COMMIT_MAX_EVENTS,
    rateLimit: { points: env.RATE_LIMIT_EVENTS_PER_WINDOW, windowS: env.RATE_LIMIT_WINDOW_S },
  };
}
