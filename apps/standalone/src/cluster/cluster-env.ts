import path from 'node:path';
import { parseEnv } from '@sandbox-relay/service-kit';
import { z } from 'zod';

const ROOT = path.resolve(__dirname, '../../../..');
const Port = z.coerce.number().int().min(0).max(65535);
const Millis = (fallback: number, min: number) => z.coerce.number().int().min(min).default(fallback);

/**
 * The launcher's own variables (`npm run cluster`). Everything else in its environment (DATABASE_URL,
 * REDIS_URL, AUTH_*, QUEUE_PREFIX, SUPERVISOR_*, …) is handed to every replica unchanged, and each
 * replica's own schema checks it.
 */
export const ClusterEnv = z.object({
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Interface of the edge and of every replica. */
  CLUSTER_HOST: z.string().min(1).default('127.0.0.1'),
  /** The edge (nginx); 0 picks a free port. */
  CLUSTER_EDGE_PORT: Port.default(18000),
  /**
   * Replica ports: base + 10 × the service's number (ingest 1 … branch-workflow 6, as 8081…8086) + the
   * replica's index, so 18110/18111 are the ingests. 0 picks free ports at start (kept across restarts).
   */
  CLUSTER_BASE_PORT: Port.default(18100),
  CLUSTER_REPLICAS: z.coerce.number().int().min(1).max(9).default(2),
  /** Logs, the nginx config and temp files, the local provider's workspaces. */
  CLUSTER_DIR: z
    .string()
    .min(1)
    .default(path.join(ROOT, 'tmp', 'cluster')),
  /** Default `<CLUSTER_DIR>/state.json`. */
  CLUSTER_STATE_FILE: z.string().min(1).optional(),
  /** First restart delay of a replica that exited; doubles while it keeps exiting within 10 s, capped. */
  CLUSTER_RESTART_BACKOFF_MS: Millis(1_000, 1),
  CLUSTER_RESTART_BACKOFF_MAX_MS: Millis(30_000, 1),
  /** How often each replica's /readyz is probed (each probe times out after the same). */
  CLUSTER_PROBE_INTERVAL_MS: Millis(1_000, 50),
  /** How long a replica gets after SIGTERM before SIGKILL; above the services' SHUTDOWN_TIMEOUT_MS (25 s). */
  CLUSTER_STOP_TIMEOUT_MS: Millis(30_000, 100),
  NGINX_PATH: z.string().min(1).default('/usr/sbin/nginx'),
  /** The compose edge the cluster's nginx config is generated from. */
  EDGE_TEMPLATE: z
    .string()
    .min(1)
    .default(path.join(ROOT, 'docker', 'edge.nginx.conf')),
  /** Handed to the supervisors' local provider; default `<CLUSTER_DIR>/workspaces`, shared by the replicas. */
  LOCAL_WORKSPACE_ROOT: z.string().min(1).optional(),
  /** Where workers report; default the edge. */
  WORKER_RELAY_URL: z.string().url().optional(),
});
export type ClusterEnv = z.infer<typeof ClusterEnv>;

export const REPO_ROOT = ROOT;

export function parseClusterEnv(source: Record<string, string | undefined> = process.env): ClusterEnv {
  return parseEnv(ClusterEnv, source);
}
