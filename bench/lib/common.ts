/* Shared plumbing for the benchmarks: spawning a server child, machine info, tables. Not product code. */
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { freeTcpPort } from '@sandbox-relay/testing';

export const BENCH_DATABASE_URL =
  process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/sandbox_relay_bench';

/**
 * `BENCH_SMOKE=1`: every size and duration shrunk so a script runs end to end in seconds (to check it
 * works, e.g. in CI); its figures mean nothing then. An explicit BENCH_* variable still wins.
 */
export const BENCH_SMOKE = process.env.BENCH_SMOKE === '1';

/** A numeric option: `BENCH_<name>` if set, else the smoke or the full default. */
export function benchOption(name: string, full: number, smoke: number): number {
  const raw = process.env[`BENCH_${name}`];
  return raw === undefined || raw === '' ? (BENCH_SMOKE ? smoke : full) : Number(raw);
}

/** The Redis the server children use; set by `useBenchRedis()`. */
let benchRedisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface BenchRedis {
  url: string;
  description: string;
  stop(): Promise<void>;
}

/**
 * Event pub/sub is global to a Redis server, and the shared one on :6379 carries other people's test
 * traffic (the standalone psubscribes to every event channel, so that traffic would be parsed, and fanned
 * out to unfiltered clients, inside our measurement). Unless BENCH_REDIS_URL is set, the benchmarks start
 * a private, non-persistent redis-server on a free port and stop it (by pid) at the end.
 */
export async function useBenchRedis(): Promise<BenchRedis> {
  if (process.env.BENCH_REDIS_URL) {
    return { url: benchRedisUrl, description: `${benchRedisUrl} (BENCH_REDIS_URL)`, stop: async () => undefined };
  }
  if (spawnSync('sh', ['-c', 'command -v redis-server'], { stdio: 'ignore' }).status !== 0) {
    return {
      url: benchRedisUrl,
      description: `${benchRedisUrl} (shared; redis-server not installed for a private one)`,
      stop: async () => undefined,
    };
  }
  const port = await freeTcpPort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 5_000;
  while (!(await canConnect(port))) {
    if (Date.now() > deadline) throw new Error(`private redis-server on port ${port} did not start`);
    await sleep(50);
  }
  benchRedisUrl = `redis://127.0.0.1:${port}`;
  return {
    url: benchRedisUrl,
    description: `${benchRedisUrl} (private redis-server, pid ${child.pid}, isolated from other users' pub/sub traffic)`,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

export interface MemoryStats {
  memory: NodeJS.MemoryUsage;
  vmRssKb: number;
  cpu: NodeJS.CpuUsage;
  sockets: number;
}

export interface ServerChild {
  mode: string;
  url: string;
  pid: number;
  /** GC, then memory + CPU + open socket count of the child. */
  stats(): Promise<MemoryStats>;
  /** CPU time and open socket count, no GC. */
  cpu(): Promise<{ cpu: NodeJS.CpuUsage; sockets: number }>;
  /** Event-loop delay (ms) of the child since the previous call; resets it. */
  loopDelay(): Promise<{ p50: number; p99: number; max: number }>;
  /** Graceful close (the standalone drains its event log), then waits for the process to exit. */
  close(): Promise<void>;
}

const REPO_ROOT = path.resolve(__dirname, '../..');
let serverChildBundle: Promise<string> | undefined;

/**
 * bench/lib/server-child.ts bundled as the images and `npm start` run the apps (tools/build.mjs: our code
 * inlined, CJS): through tsx, every import between modules goes through an export getter and every named
 * closure through a naming helper, which cost a batch POST about a tenth of its CPU. Built once per run.
 */
function bundledServerChild(): Promise<string> {
  serverChildBundle ??= (async () => {
    const outfile = path.join(REPO_ROOT, 'dist', 'bench', 'server-child.js');
    const tools = pathToFileURL(path.join(REPO_ROOT, 'tools', 'build.mjs')).href;
    const { bundle } = (await import(tools)) as { bundle(entryPoint: string, outfile: string): Promise<void> };
    await bundle(path.join(__dirname, 'server-child.ts'), outfile);
    return outfile;
  })();
  return serverChildBundle;
}

/**
 * Forks the server child (bundled, above) with an IPC channel. `--expose-gc` lets the child collect garbage
 * before reporting memory; `--enable-source-maps` as the images run.
 */
export async function startServerChild(
  mode: 'standalone' | 'ingest' | 'express' | 'ws',
  env: Record<string, string> = {},
): Promise<ServerChild> {
  const child: ChildProcess = fork(await bundledServerChild(), [mode], {
    // BENCH_SERVER_NODE_ARGS adds node flags to the server child only, e.g. "--cpu-prof --cpu-prof-dir=bench/.profiles".
    execArgv: [
      '--expose-gc',
      '--enable-source-maps',
      ...(process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean),
    ],
    env: { ...process.env, BENCH_DATABASE_URL, BENCH_REDIS_URL: benchRedisUrl, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let nextId = 1;
  const waiting = new Map<number, (reply: any) => void>();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<{ url: string; pid: number }>((resolve, reject) => {
    child.on('message', (message: any) => {
      if (message?.type === 'ready') resolve(message);
      else if (typeof message?.id === 'number') {
        waiting.get(message.id)?.(message);
        waiting.delete(message.id);
      }
    });
    void exited.then((code) => reject(new Error(`${mode} server child exited with code ${code} before it was ready`)));
  });
  const request = <T>(cmd: string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, resolve);
      child.send({ id, cmd }, (error) => error && reject(error));
    });
  const { url, pid } = await ready;
  return {
    mode,
    url,
    pid,
    stats: () => request<MemoryStats>('stats'),
    cpu: () => request<{ cpu: NodeJS.CpuUsage; sockets: number }>('cpu'),
    loopDelay: () => request<{ p50: number; p99: number; max: number }>('loop'),
    async close() {
      if (child.exitCode !== null) return;
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      // The child answers, then exits: an answer still in the IPC channel when it exits is lost, so its exit ends the wait too.
      await Promise.race([request('close').catch(() => undefined), exited]);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Date, CPU model/count, OS, node, and how busy the machine was in the second before the run. */
export async function machineLines(): Promise<string[]> {
  const cpus = os.cpus();
  const before = machineCpu();
  await sleep(1000);
  const background = machineCpuPercent(before, machineCpu());
  return [
    `date:    ${new Date().toISOString()}`,
    `machine: ${cpus[0]?.model ?? 'unknown cpu'} × ${cpus.length} (${os.type()} ${os.release()} ${os.arch()}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM)`,
    `node:    ${process.version}`,
    `load:    ${Math.round(background)} % of one core busy in the second before the run (other users of the machine); loadavg ${os
      .loadavg()
      .map((n) => n.toFixed(2))
      .join(' ')}`,
  ];
}

/** Left-aligned first column, right-aligned others. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((row) => row.map(String))];
  const widths = header.map((_, col) => Math.max(...cells.map((row) => (row[col] ?? '').length)));
  const line = (row: string[]) =>
    row.map((cell, col) => (col === 0 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!))).join('  ');
  const rule = widths.map((width) => '-'.repeat(width)).join('  ');
  return [line(cells[0]!), rule, ...cells.slice(1).map(line)].join('\n');
}

export const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
export const fmt1 = (n: number) => n.toFixed(1);
export const fmt2 = (n: number) => n.toFixed(2);
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function verdict(met: boolean): string {
  return met ? 'MET' : 'NOT MET';
}

/** CPU share (% of one core) between two cpuUsage readings over `wallMs`. */
export function cpuPercent(before: NodeJS.CpuUsage, after: NodeJS.CpuUsage, wallMs: number): number {
  const usedMicros = after.user - before.user + (after.system - before.system);
  return (usedMicros / 1000 / wallMs) * 100;
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export interface MachineCpu {
  busy: number;
  total: number;
}

/** Busy and total CPU time of all cores (from os.cpus()). */
export function machineCpu(): MachineCpu {
  let busy = 0;
  let total = 0;
  for (const cpu of os.cpus()) {
    const { user, nice, sys, idle, irq } = cpu.times;
    busy += user + nice + sys + irq;
    total += user + nice + sys + idle + irq;
  }
  return { busy, total };
}

/** Machine CPU between two readings in % of one core (200 % = both cores of a 2-core box busy). */
export function machineCpuPercent(before: MachineCpu, after: MachineCpu): number {
  return ((after.busy - before.busy) / (after.total - before.total)) * os.cpus().length * 100;
}

const keepAliveAgent = new http.Agent({ keepAlive: true, maxSockets: 256 });

/**
 * One HTTP request over a shared keep-alive agent; `ms` is from the request's start to the last byte of the
 * answer (the JSON parse of the body is not included). Rejects on a network error, never on a status.
 */
export function requestJson<T = unknown>(
  baseUrl: string,
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; body: T; ms: number }> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, baseUrl);
    const started = performance.now();
    const headers: http.OutgoingHttpHeaders =
      body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    const req = http.request(
      { agent: keepAliveAgent, host: url.hostname, port: url.port, path: url.pathname + url.search, method, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const ms = performance.now() - started;
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, body: (text ? JSON.parse(text) : undefined) as T, ms });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Runs `task(i)` for i = 0..count-1 with at most `concurrency` in flight; resolves when all are done. */
export async function runConcurrently(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/** p50 / p99 / max of a list of samples (ms). */
export function latencySummary(samples: number[]): { n: number; p50: number; p99: number; max: number } {
  const sorted = Float64Array.from(samples).sort();
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? NaN,
  };
}

/**
 * Runs a benchmark: prints its title, the machine and the stores, gives `run` a private Redis and stops
 * it afterwards, then exits with `run`'s code (1 on a thrown error).
 */
export function runBenchmark(title: string, run: (redis: BenchRedis) => Promise<number>): void {
  const main = async (): Promise<number> => {
    console.log(title);
    const redis = await useBenchRedis();
    try {
      for (const line of await machineLines()) console.log(line);
      console.log(`stores:  postgres ${BENCH_DATABASE_URL}; redis ${redis.description}`);
      return await run(redis);
    } finally {
      await redis.stop();
    }
  };
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}

/** One figure of a benchmark for `npm run bench`'s summary table: one value per run (or round) of each side. */
export interface FigureResult {
  figure: string;
  unit: string;
  /** The system's value in each run/round. */
  ours: number[];
  /** The bare baseline's value in each run/round (same order), empty when the figure has none. */
  baseline: number[];
  baselineLabel: string;
  /** How ours compares with the baseline in each run: 'ratio' (ours ÷ bare) or 'diff' (ours − bare). */
  compare: 'ratio' | 'diff' | 'none';
  target: string;
  met: boolean;
  note?: string;
}

/** Appends figures (one JSON line each) to BENCH_RESULT_FILE, which `npm run bench` (bench/all.ts) reads. */
export function writeFigures(figures: FigureResult[]): void {
  const file = process.env.BENCH_RESULT_FILE;
  if (!file) return;
  for (const figure of figures) appendFileSync(file, `${JSON.stringify(figure)}\n`);
}

export const medianOf = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/**
 * JSON POSTs over one keep-alive agent (`maxSockets` connections), as a load generator sends them:
 * `post` answers the status code, 0 when the request failed; `close` ends the agent's sockets.
 */
export function keepAlivePoster(maxSockets = 64): {
  post(baseUrl: string, path: string, body: string): Promise<number>;
  close(): void;
} {
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  const post = (baseUrl: string, path: string, body: string): Promise<number> =>
    new Promise((resolve) => {
      const url = new URL(path, baseUrl);
      const req = http.request(
        {
          agent,
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', () => resolve(0));
      req.end(body);
    });
  return { post, close: () => agent.destroy() };
}

/** The cumulative buckets (`le` → count) of one histogram in a Prometheus text scrape, summed over its label sets. */
export function histogramBuckets(text: string, name: string): Map<number, number> {
  const buckets = new Map<number, number>();
  const pattern = new RegExp(`^${name}_bucket\\{[^}]*le="([^"]+)"[^}]*\\} (\\S+)$`, 'gm');
  for (const match of text.matchAll(pattern)) {
    const le = match[1] === '+Inf' ? Infinity : Number(match[1]);
    buckets.set(le, (buckets.get(le) ?? 0) + Number(match[2]));
  }
  return buckets;
}

/**
 * The `q` quantile of what a histogram observed between two scrapes of its buckets: the smallest bucket
 * bound holding that share of the observations (Infinity past the last bound; NaN when none were made).
 */
export function bucketQuantileBetween(from: Map<number, number>, to: Map<number, number>, q: number): number {
  const total = (to.get(Infinity) ?? 0) - (from.get(Infinity) ?? 0);
  if (total <= 0) return NaN;
  for (const bound of [...to.keys()].sort((a, b) => a - b))
    if ((to.get(bound) ?? 0) - (from.get(bound) ?? 0) >= q * total) return bound;
  return Infinity;
}
