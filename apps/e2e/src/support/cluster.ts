import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ClusterState, type ClusterProcessStatus } from '@sandbox-relay/contracts';
import { testInfra, uniqueId, waitFor } from '@sandbox-relay/testing';
import { freePort } from './private-redis';

const ROOT = path.resolve(__dirname, '../../../..');

export type ClusterServiceName = 'ingest' | 'gateway' | 'message-queue' | 'guardian' | 'supervisor' | 'branch-workflow';

export interface ClusterOptions {
  /**
   * The cluster's Redis: a PrivateRedis of the suite's own, so its pub/sub reaches no other relay. Required,
   * here or as `env.REDIS_URL`.
   */
  redisUrl?: string;
  /** Default: the test database (TEST_DATABASE_URL). */
  databaseUrl?: string;
  /**
   * More env for the launcher and every replica (SUPERVISOR_*, AUTH_*, DB_POOL_SIZE, …), applied over the
   * defaults below; QUEUE_PREFIX defaults to a unique one. The ports, directory and state file are the handle's.
   */
  env?: Record<string, string>;
  /** How long every replica and the edge get to be ready together. Default 150 s. */
  readyTimeoutMs?: number;
}

export interface ClusterReplica {
  index: number;
  /** Null while the replica waits out its restart backoff. */
  pid: number | null;
  port: number;
  url: string;
  status: ClusterProcessStatus;
  restarts: number;
}

export interface RunningCluster {
  edgeUrl: string;
  /** The edge as ws://… */
  wsUrl: string;
  stateFile: string;
  /** Logs (one file per replica), the nginx config, the supervisors' shared workspace root. */
  dir: string;
  /** The supervisors' LOCAL_WORKSPACE_ROOT. */
  workspaceRoot: string;
  state(): ClusterState;
  /** The service's replicas as the state file has them now. */
  replicas(service: ClusterServiceName): ClusterReplica[];
  /** Sends `signal` to that replica's current process (SIGKILL, SIGSTOP, SIGCONT, …). Returns its pid. */
  signal(service: ClusterServiceName, index: number, signal: NodeJS.Signals): number;
  /** Polls that replica's /readyz until it answers 200; the time it took, in ms. */
  waitReady(service: ClusterServiceName, index: number, timeoutMs: number): Promise<number>;
  /** What that replica logged so far (pino JSON lines, across its restarts). */
  logs(service: ClusterServiceName, index: number): string;
  /**
   * SIGTERM to the launcher (graceful: replicas drain, nginx quits), then SIGKILL to whatever is left.
   * Resolves with how the launcher exited (143 after a clean stop).
   */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Runs `npm run cluster`'s launcher (tools/cluster.mjs) as a child process on free ports, against the
 * given Redis and the test database, with a state file and directory of its own; resolves once every
 * replica and the edge are ready.
 */
export async function startCluster(options: ClusterOptions): Promise<RunningCluster> {
  const redisUrl = options.env?.['REDIS_URL'] ?? options.redisUrl;
  if (!redisUrl) throw new Error("startCluster needs a Redis of the suite's own (PrivateRedis): pass redisUrl");
  const dir = path.join(ROOT, 'tmp', 'e2e-cluster', uniqueId('cluster'));
  mkdirSync(dir, { recursive: true });
  const stateFile = path.join(dir, 'state.json');
  const workspaceRoot = path.join(dir, 'workspaces');
  const output: string[] = [];
  const child = spawn(process.execPath, [path.join(ROOT, 'tools', 'cluster.mjs')], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: options.databaseUrl ?? testInfra().databaseUrl,
      REDIS_URL: redisUrl,
      LOG_LEVEL: 'info',
      // Twelve processes share the test database with every other suite: small pools.
      DB_POOL_SIZE: '3',
      QUEUE_PREFIX: uniqueId('cluster'),
      SHUTDOWN_TIMEOUT_MS: '5000',
      CLUSTER_STOP_TIMEOUT_MS: '10000',
      CLUSTER_RESTART_BACKOFF_MS: '200',
      CLUSTER_PROBE_INTERVAL_MS: '250',
      ...options.env,
      CLUSTER_EDGE_PORT: String(await freePort()),
      CLUSTER_BASE_PORT: '0',
      CLUSTER_DIR: dir,
      CLUSTER_STATE_FILE: stateFile,
      LOCAL_WORKSPACE_ROOT: workspaceRoot,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const record = (chunk: Buffer) => output.push(chunk.toString());
  child.stdout!.on('data', record);
  child.stderr!.on('data', record);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );

  const readState = (): ClusterState => ClusterState.parse(JSON.parse(readFileSync(stateFile, 'utf8')));
  const handle = clusterHandle(child, exited, dir, stateFile, workspaceRoot, readState);
  try {
    await waitFor(
      () => {
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(`the cluster launcher exited (${child.exitCode ?? child.signalCode}):\n${output.join('')}`);
        return existsSync(stateFile) && readState().started;
      },
      'every replica and the edge to be ready',
      options.readyTimeoutMs ?? 150_000,
      250,
    );
  } catch (error) {
    await handle.stop();
    throw error;
  }
  const edgeUrl = readState().edge.url;
  return { ...handle, edgeUrl, wsUrl: edgeUrl.replace(/^http/, 'ws') };
}

function clusterHandle(
  child: ChildProcess,
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
  dir: string,
  stateFile: string,
  workspaceRoot: string,
  readState: () => ClusterState,
): Omit<RunningCluster, 'edgeUrl' | 'wsUrl'> {
  const replicas = (service: ClusterServiceName): ClusterReplica[] =>
    readState()
      .replicas.filter((replica) => replica.service === service)
      .map(({ index, pid, port, url, status, restarts }) => ({ index, pid, port, url, status, restarts }));
  const replica = (service: ClusterServiceName, index: number): ClusterReplica => {
    const found = replicas(service).find((r) => r.index === index);
    if (!found) throw new Error(`the cluster runs no ${service}-${index}`);
    return found;
  };
  return {
    dir,
    stateFile,
    workspaceRoot,
    state: readState,
    replicas,
    signal(service, index, signal) {
      const { pid } = replica(service, index);
      if (pid === null) throw new Error(`${service}-${index} has no process now (waiting to restart)`);
      process.kill(pid, signal);
      return pid;
    },
    async waitReady(service, index, timeoutMs) {
      const started = Date.now();
      const { url } = replica(service, index);
      await waitFor(
        () =>
          fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1_000) }).then(
            (res) => res.ok,
            () => false,
          ),
        `${service}-${index} to be ready`,
        timeoutMs,
        50,
      );
      return Date.now() - started;
    },
    logs(service, index) {
      const found = readState().replicas.find((r) => r.service === service && r.index === index);
      return found && existsSync(found.logFile) ? readFileSync(found.logFile, 'utf8') : '';
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        await exited;
        clearTimeout(timer);
      }
      const exit = await exited;
      // Whatever outlived the launcher (it was killed, or a replica ignored its deadline): the launcher
      // clears a pid once it saw that process exit, so only processes it did not see end are left here.
      const last = existsSync(stateFile) ? readState() : null;
      for (const pid of [last?.edge.pid, ...(last?.replicas.map((r) => r.pid) ?? [])]) {
        if (typeof pid === 'number') killQuietly(pid);
      }
      return exit;
    },
  };
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Gone already.
  }
}
