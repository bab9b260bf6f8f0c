/*
 * The relay "as deployed" for the live-path benches (BENCH_PRODUCT=deployed in bench/ingest.ts and bench/fanout.ts):
 * every service its own process, started by `npm run cluster`'s launcher (tools/cluster.mjs) with ONE replica
 * each, behind its nginx edge (generated from docker/edge.nginx.conf); and the bare baselines behind an nginx
 * of their own generated from the same file, so product and baseline both pay the same proxy hop.
 * Not product code.
 *
 * Both look like a ServerChild (bench/lib/common.ts) to the benches:
 *   - url: the edge (what users get); `ingestUrl` / `gatewayUrl` are the services' own ports;
 *   - cpu(): CPU time of every service process plus nginx (master and workers), summed; the socket count
 *     from the gateway's `relay_ws_clients_open` (its own /metrics) or the bare server's own count;
 *   - loopDelay(): the gateway's event-loop delay from its /metrics since the previous call (the largest p50, p99
 *     and max of the scrapes in between: prom-client resets its histogram on each scrape);
 *   - stats(): not available (no forced GC in a service process): the memory figure is the standalone's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { clusterEdgeConfig, edgeUpstreams } from '../../apps/standalone/src/cluster/edge-config';
import { BENCH_DATABASE_URL, sleep, type MemoryStats, type ServerChild } from './common';
import { freeTcpPort } from '@sandbox-relay/testing';
import { processCpuMs } from './processes';

const ROOT = path.resolve(__dirname, '..', '..');
const NGINX_PATH = process.env.NGINX_PATH ?? '/usr/sbin/nginx';
const EDGE_TEMPLATE = path.join(ROOT, 'docker', 'edge.nginx.conf');
/** Logs, state files and nginx configs of the run's deployments, kept for reading after it. */
const RUN_DIR = path.join(ROOT, 'bench', '.results', 'deployed');
/** `BENCH_REPLICAS`: replicas of every service (CLUSTER_REPLICAS); 1 unless set. */
const REPLICAS = Number(process.env.BENCH_REPLICAS ?? '1');
/** How a setup line names the deployment's replicas. */
export const REPLICAS_LABEL = REPLICAS === 1 ? 'one replica per service' : `${REPLICAS} replicas per service`;

interface StateFile {
  started: boolean;
  launcherPid: number;
  edge: { pid: number | null; url: string };
  replicas: Array<{ service: string; pid: number | null; url: string; status: string; restarts: number }>;
}

export interface DeployedRelay extends ServerChild {
  /** The ingest's and the gateway's own ports (past the edge). */
  ingestUrl: string;
  gatewayUrl: string;
  /** Every process of the deployment: services and nginx (master and workers). */
  pids(): number[];
  /** Replicas that restarted during the run (should be none). */
  restarts(): number;
}

/** CPU time of the given processes as a CpuUsage (µs; all of it counted as `user`). A gone process counts 0. */
function cpuOf(pids: number[]): NodeJS.CpuUsage {
  let ms = 0;
  for (const pid of pids) {
    try {
      ms += processCpuMs(pid);
    } catch {
      // Exited since the list was read.
    }
  }
  return { user: ms * 1000, system: 0 };
}

/** nginx's master and its workers (the master's children). */
function nginxPids(masterPid: number | null): number[] {
  if (masterPid === null) return [];
  try {
    const children = readFileSync(`/proc/${masterPid}/task/${masterPid}/children`, 'utf8');
    return [masterPid, ...children.split(' ').filter(Boolean).map(Number)];
  } catch {
    return [masterPid];
  }
}

async function scrapeMetrics(baseUrl: string): Promise<string> {
  const res = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(5_000) });
  return res.text();
}

function metricValue(text: string, name: string): number {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) : NaN;
}

const noMemoryStats = (): Promise<MemoryStats> =>
  Promise.reject(new Error('memory per socket is measured on the standalone only (no forced GC in a service)'));

/**
 * `npm run cluster` (tools/cluster.mjs) with CLUSTER_REPLICAS=1 (`BENCH_REPLICAS`) on free ports against the
 * bench database and `redisUrl`, as the services ship (NODE_ENV production) but with the per-sandbox rate
 * limits off and logs at warn; resolves once every replica and the edge are ready.
 */
export async function startDeployed(redisUrl: string): Promise<DeployedRelay> {
  const dir = path.join(RUN_DIR, `cluster-${Date.now().toString(36)}-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const stateFile = path.join(dir, 'state.json');
  const output: string[] = [];
  const child: ChildProcess = spawn(process.execPath, [path.join(ROOT, 'tools', 'cluster.mjs')], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      DATABASE_URL: BENCH_DATABASE_URL,
      REDIS_URL: redisUrl,
      RATE_LIMIT_EVENTS_PER_WINDOW: '0',
      RATE_LIMIT_MESSAGES_PER_WINDOW: '0',
      CLUSTER_REPLICAS: String(REPLICAS),
      CLUSTER_EDGE_PORT: String(await freeTcpPort()),
      CLUSTER_BASE_PORT: '0',
      CLUSTER_DIR: dir,
      CLUSTER_STATE_FILE: stateFile,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const readState = (): StateFile => JSON.parse(readFileSync(stateFile, 'utf8')) as StateFile;
  const leftovers = () => {
    // Whatever outlived the launcher (the launcher clears a pid once it saw that process exit).
    const last = existsSync(stateFile) ? readState() : null;
    for (const pid of [last?.edge.pid, ...(last?.replicas.map((r) => r.pid) ?? [])]) {
      if (typeof pid !== 'number') continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
      await exited;
      clearTimeout(timer);
    }
    leftovers();
  };
  const deadline = Date.now() + 180_000;
  while (!(existsSync(stateFile) && readState().started)) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`the cluster launcher exited (${child.exitCode ?? child.signalCode}):\n${output.join('')}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the cluster was not ready within 180 s:\n${output.join('')}`);
    }
    await sleep(250);
  }
  const started = readState();
  const replicaUrl = (service: string) => started.replicas.find((r) => r.service === service)!.url;
  const gatewayUrls = started.replicas.filter((r) => r.service === 'gateway').map((r) => r.url);
  const gatewayUrl = gatewayUrls[0]!;
  const pids = () => {
    const state = readState();
    return [
      ...state.replicas.map((r) => r.pid).filter((pid): pid is number => pid !== null),
      ...nginxPids(state.edge.pid),
    ];
  };
  // prom-client resets the gateway's event-loop histogram at every scrape, and cpu() scrapes too (for the socket
  // count): keep the largest p50/p99/max seen by any scrape since the last loopDelay().
  const noLoop = { p50: 0, p99: 0, max: 0 };
  let loop = { ...noLoop };
  const scrapeGateways = async (): Promise<number> => {
    let sockets = 0;
    for (const text of await Promise.all(gatewayUrls.map(scrapeMetrics))) {
      const ms = (name: string) => metricValue(text, name) * 1000 || 0;
      loop = {
        p50: Math.max(loop.p50, ms('nodejs_eventloop_lag_p50_seconds')),
        p99: Math.max(loop.p99, ms('nodejs_eventloop_lag_p99_seconds')),
        max: Math.max(loop.max, ms('nodejs_eventloop_lag_max_seconds')),
      };
      sockets += metricValue(text, 'relay_ws_clients_open');
    }
    return sockets;
  };
  return {
    mode: 'deployed',
    url: started.edge.url,
    pid: started.launcherPid,
    ingestUrl: replicaUrl('ingest'),
    gatewayUrl,
    pids,
    restarts: () => readState().replicas.reduce((sum, r) => sum + r.restarts, 0),
    stats: noMemoryStats,
    async cpu() {
      const sockets = await scrapeGateways();
      return { cpu: cpuOf(pids()), sockets };
    },
    async loopDelay() {
      await scrapeGateways();
      const seen = loop;
      loop = { ...noLoop };
      return seen;
    },
    close: stop,
  };
}

export interface BareEdge {
  url: string;
  /** `server` reached through this edge: its url is the edge's, its CPU includes nginx's. */
  front(server: ServerChild): ServerChild;
  close(): Promise<void>;
}

/**
 * An nginx of the baselines' own, its config generated from docker/edge.nginx.conf exactly as the cluster's edge
 * is (same locations, access log and proxy settings), with the ingest's upstream pointed at `ingest` (bare
 * express) and every other upstream, the gateway's included, at `gateway` (bare ws, which also takes the bench's
 * POST /publish/<id> through the edge's `/` location).
 */
export async function startBareEdge(ingest: ServerChild, gateway: ServerChild): Promise<BareEdge> {
  const dir = path.join(RUN_DIR, `bare-edge-${Date.now().toString(36)}-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const port = await freeTcpPort();
  const portOf = (server: ServerChild) => Number(new URL(server.url).port);
  const template = readFileSync(EDGE_TEMPLATE, 'utf8');
  const upstreams = Object.fromEntries(
    edgeUpstreams(template).map((service) => [service, [service === 'ingest' ? portOf(ingest) : portOf(gateway)]]),
  );
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const configFile = path.join(dir, 'nginx.conf');
  writeFileSync(
    configFile,
    clusterEdgeConfig(template, {
      listen: { host: '127.0.0.1', port },
      upstreams,
      upstreamHost: '127.0.0.1',
      prefixDir: dir,
      accessLog: path.join(dir, 'access.log'),
      user: root ? 'nobody nogroup' : null,
      shutdownTimeoutS: 5,
    }),
  );
  const output: string[] = [];
  const nginx = spawn(NGINX_PATH, ['-p', dir, '-c', configFile, '-e', 'stderr'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  nginx.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  nginx.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<void>((resolve) => nginx.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (nginx.exitCode !== null) throw new Error(`the baselines' nginx exited:\n${output.join('')}`);
    if (
      (await fetch(`${url}/metrics`).then(
        (res) => res.status,
        () => 0,
      )) === 404
    )
      break;
    if (Date.now() > deadline) throw new Error(`the baselines' nginx did not answer within 10 s:\n${output.join('')}`);
    await sleep(100);
  }
  return {
    url,
    front: (server) => ({
      ...server,
      url,
      async cpu() {
        const own = await server.cpu();
        const edge = cpuOf(nginxPids(nginx.pid ?? null));
        return { cpu: { user: own.cpu.user + own.cpu.system + edge.user, system: 0 }, sockets: own.sockets };
      },
    }),
    async close() {
      if (nginx.exitCode !== null) return;
      nginx.kill('SIGQUIT');
      const timer = setTimeout(() => nginx.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
