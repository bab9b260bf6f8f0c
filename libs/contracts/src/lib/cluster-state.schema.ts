import { z } from 'zod';

/**
 * The state file `npm run cluster` keeps (CLUSTER_STATE_FILE): every replica of every service and the
 * edge, rewritten on each change. Read by people, by the e2e tier's cluster handle and by the fault
 * suites that kill, stop and resume replicas by pid.
 */
export const CLUSTER_STATE_VERSION = 1 as const;

/**
 * `starting`: spawned, /readyz not yet 200; `ready`: /readyz answered 200 on the last probe; `unready`:
 * running but the last probe failed or timed out; `restarting`: exited, waiting out its backoff;
 * `stopping`: sent SIGTERM by the launcher's shutdown; `stopped`: exited during shutdown.
 */
export const ClusterProcessStatus = z.enum(['starting', 'ready', 'unready', 'restarting', 'stopping', 'stopped']);
export type ClusterProcessStatus = z.infer<typeof ClusterProcessStatus>;

export const ClusterExit = z.object({
  code: z.number().int().nullable(),
  signal: z.string().nullable(),
  at: z.string(),
});
export type ClusterExit = z.infer<typeof ClusterExit>;

export const ClusterReplicaState = z.object({
  service: z.string(),
  index: z.number().int().min(0),
  /** The current process; null between an exit and the restart. */
  pid: z.number().int().nullable(),
  /** Kept across restarts: the edge's upstream names it. */
  port: z.number().int(),
  url: z.string(),
  status: ClusterProcessStatus,
  /** How many times the launcher started it again after it exited. */
  restarts: z.number().int().min(0),
  startedAt: z.string().nullable(),
  lastExit: ClusterExit.nullable(),
  /** Its stdout and stderr (pino JSON lines), appended across restarts. */
  logFile: z.string(),
});
export type ClusterReplicaState = z.infer<typeof ClusterReplicaState>;

export const ClusterEdgeState = z.object({
  pid: z.number().int().nullable(),
  port: z.number().int(),
  url: z.string(),
  status: ClusterProcessStatus,
  restarts: z.number().int().min(0),
  lastExit: ClusterExit.nullable(),
  /** The nginx config generated from docker/edge.nginx.conf. */
  configFile: z.string(),
  logFile: z.string(),
});
export type ClusterEdgeState = z.infer<typeof ClusterEdgeState>;

export const ClusterState = z.object({
  version: z.literal(CLUSTER_STATE_VERSION),
  launcherPid: z.number().int(),
  /** True once every replica and the edge were ready together (the launcher's start is over). */
  started: z.boolean(),
  edge: ClusterEdgeState,
  replicas: z.array(ClusterReplicaState),
  updatedAt: z.string(),
});
export type ClusterState = z.infer<typeof ClusterState>;
