/*
 * Plumbing for the capacity benchmarks (bench/capacity.ts, bench/supervisor.ts): each service run as its own
 * process (`apps/<app>/src/main.ts`, as its Deployment runs it), pinned to given cores with `taskset`, its CPU
 * time and memory read from /proc. Not product code.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freeTcpPort } from '@sandbox-relay/testing';
import { BENCH_DATABASE_URL, sleep } from './common';

const ROOT = path.resolve(__dirname, '..', '..');
/** Clock ticks per second of /proc/<pid>/stat's utime and stime (`getconf CLK_TCK`, 100 on Linux). */
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** The bench database, created and migrated if missing (as `npm run bench` and `npm start` do). */
export function ensureBenchDatabase(): void {
  const setup = spawnSync(process.execPath, [path.join(ROOT, 'tools', 'services.mjs')], {
    env: { ...process.env, DATABASE_URL: BENCH_DATABASE_URL },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (setup.status !== 0) throw new Error(`tools/services.mjs could not prepare ${BENCH_DATABASE_URL}`);
}

/** Pins every thread of `pid` to `cpus` (a taskset list such as "0" or "1"); new threads inherit it. */
export function pin(pid: number, cpus: string): void {
  const result = spawnSync('taskset', ['-a', '-cp', cpus, String(pid)], { stdio: 'ignore' });
  if (result.status !== 0) throw new Error(`taskset -a -cp ${cpus} ${pid} failed (is util-linux installed?)`);
}

/** User + system CPU time of a process and all its threads, in ms (from /proc/<pid>/stat). */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start at field 3; utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS) * 1000;
}

/** Resident memory of a process in KiB (VmRSS). */
export function processRssKb(pid: number): number {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) : NaN;
}

/** The 1-minute load average, for the line beside each figure. */
export const loadNow = () => os.loadavg()[0]!;

export type DeployedApp = 'ingest' | 'gateway' | 'message-queue';

export interface ServiceProcess {
  app: DeployedApp;
  url: string;
  pid: number;
  cpuMs(): number;
  rssKb(): number;
  /** SIGTERM (the service's graceful shutdown), then waits for it to exit (SIGKILL after 30 s). */
  close(): Promise<void>;
}

/**
 * Starts `apps/<app>/src/main.ts` under `taskset -c <cpus>` with the bench's stores, on loopback (auth off),
 * per-sandbox rate limits off and logs at `warn`, and waits until its /readyz answers 200.
 */
export async function startServiceProcess(
  app: DeployedApp,
  { cpus, redisUrl, env = {} }: { cpus: string; redisUrl: string; env?: Record<string, string> },
): Promise<ServiceProcess> {
  const port = await freeTcpPort();
  const child: ChildProcess = spawn(
    'taskset',
    ['-c', cpus, process.execPath, '--import', 'tsx', path.join('apps', app, 'src', 'main.ts')],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        HOST: '127.0.0.1',
        PORT: String(port),
        DATABASE_URL: BENCH_DATABASE_URL,
        REDIS_URL: redisUrl,
        RATE_LIMIT_EVENTS_PER_WINDOW: '0',
        RATE_LIMIT_MESSAGES_PER_WINDOW: '0',
        ...env,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (!(await isReady(url))) {
    if (child.exitCode !== null) throw new Error(`${app} exited with code ${child.exitCode} before it was ready`);
    if (Date.now() > deadline) throw new Error(`${app} was not ready within 60 s`);
    await sleep(200);
  }
  const pid = child.pid!;
  return {
    app,
    url,
    pid,
    cpuMs: () => processCpuMs(pid),
    rssKb: () => processRssKb(pid),
    async close() {
      if (child.exitCode !== null) return;
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.kill('SIGTERM');
      await exited;
      clearTimeout(timer);
    },
  };
}

async function isReady(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/readyz`);
    return res.status === 200;
  } catch {
    return false;
  }
}
