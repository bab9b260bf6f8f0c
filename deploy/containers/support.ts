import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';

export const ROOT = path.resolve(__dirname, '../..');
export const APPS = {
  ingest: 8081,
  gateway: 8082,
  'message-queue': 8083,
  guardian: 8084,
  supervisor: 8085,
  'branch-workflow': 8086,
} as const;
export type App = keyof typeof APPS;
export const TARGETS = [...(Object.keys(APPS) as App[]), 'migrate'] as const;

/** Which engine tools/containers/engine.mjs picks (docker only when its daemon answers). */
export const ENGINE: 'docker' | 'podman' =
  (process.env['CONTAINER_ENGINE'] as 'docker' | 'podman' | undefined) ??
  (spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 15_000 }).status === 0 ? 'docker' : 'podman');

/** The environment every engine call runs with (the containers.conf the tools write, for podman). */
export function engineEnv(): NodeJS.ProcessEnv {
  const conf = path.join(ROOT, 'tmp', 'containers', 'containers.conf');
  if (ENGINE === 'podman' && !process.env['CONTAINERS_CONF'] && existsSync(conf))
    return { ...process.env, CONTAINERS_CONF: conf };
  return process.env;
}

export function engine(args: string[], timeout = 120_000): { code: number | null; out: string; err: string } {
  const result = spawnSync(ENGINE, args, { encoding: 'utf8', env: engineEnv(), timeout, maxBuffer: 64 * 1024 * 1024 });
  return { code: result.status, out: (result.stdout ?? '').trim(), err: (result.stderr ?? '').trim() };
}

export function engineOk(args: string[], timeout?: number): string {
  const result = engine(args, timeout);
  if (result.code !== 0)
    throw new Error(`${ENGINE} ${args.join(' ')} → exit ${result.code}: ${result.err || result.out}`);
  return result.out;
}

/** Runs one of tools/containers/*.mjs, its output on ours; throws unless it exits 0. */
export function tool(script: string, args: string[] = [], env: NodeJS.ProcessEnv = {}, timeout = 40 * 60_000): number {
  const started = Date.now();
  const result = spawnSync(process.execPath, [path.join(ROOT, 'tools', 'containers', script), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout,
  });
  if (result.status !== 0) throw new Error(`${script} ${args.join(' ')} exited ${result.status ?? result.signal}`);
  return (Date.now() - started) / 1000;
}

/** The key ring `npm run compose` uses (AUTH_KEYS, else the one it keeps in tmp/). */
export function composeKeys(): string {
  return (
    process.env['AUTH_KEYS'] ??
    readFileSync(path.join(ROOT, 'tmp', 'containers', 'compose-auth-keys.json'), 'utf8').trim()
  );
}

/** An operator token signed with a key ring (`npm run token -- operator`). */
export function operatorToken(keys: string): string {
  return mintToken(keys, ['operator', '--ttl', '1h']);
}

/** A worker's token for one sandbox (`npm run token -- sandbox ID`): only it may post that sandbox's events. */
export function sandboxToken(keys: string, sandbox: string): string {
  return mintToken(keys, ['sandbox', sandbox, '--ttl', '1h']);
}

function mintToken(keys: string, args: string[]): string {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'libs/auth/src/cli.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, AUTH_KEYS: keys },
  });
  if (result.status !== 0) throw new Error(`token: ${result.stderr}`);
  return result.stdout.trim().split('\n').pop()!;
}

/** GET /readyz from inside a container (node is in every image): 200 or not. */
export function readyInside(container: string, port: number): boolean {
  const probe = `fetch('http://127.0.0.1:${port}/readyz').then((r)=>process.exit(r.status===200?0:1),()=>process.exit(1))`;
  return engine(['exec', container, 'node', '-e', probe], 15_000).code === 0;
}

export async function eventually<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`${what}: not within ${timeoutMs / 1000} s${last instanceof Error ? ` (${last.message})` : ''}`);
}

/**
 * Sends SIGTERM (the images' stop signal) and waits up to the grace period: the exit code and how
 * long the drain took. 143 = 128 + SIGTERM, what main.ts exits with after a clean drain.
 */
export function stopWithin(container: string, graceSeconds: number): { code: number; seconds: number } {
  const started = Date.now();
  engineOk(['stop', '-t', String(graceSeconds), container], (graceSeconds + 30) * 1000);
  const seconds = (Date.now() - started) / 1000;
  const code = Number(engineOk(['inspect', '--format', '{{.State.ExitCode}}', container]));
  return { code, seconds };
}

/** One JSON call to the edge at `base`, with a bearer token when one is given. */
export async function edgeCall(
  base: string,
  method: string,
  url: string,
  body?: unknown,
  bearer?: string,
): Promise<{ status: number; json: any }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (bearer) headers['authorization'] = `Bearer ${bearer}`;
  const response = await fetch(`${base}${url}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined };
}

/**
 * Watches `sandbox` through the edge's WebSocket (first-frame auth with `viewer`), and posts an
 * `agent.tool_use` with the sandbox's own token (`worker`; an operator's is refused, 403) until it arrives:
 * the subscription is live once the auth frame is processed.
 */
export async function expectEventOnWebSocket(
  base: string,
  { viewer, worker, sandbox, command }: { viewer: string; worker: string; sandbox: string; command: string },
): Promise<void> {
  const ws = new WebSocket(
    `${base.replace(/^http/, 'ws')}/api/v1/events/ws/events?entity_types=sandbox&entity_ids=${sandbox}`,
  );
  const frames: string[] = [];
  ws.on('message', (data) => frames.push(String(data)));
  await new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject));
  ws.send(JSON.stringify({ type: 'auth', token: viewer }));
  try {
    await eventually(
      'the event on the WebSocket',
      async () => {
        const posted = await edgeCall(
          base,
          'POST',
          `/api/v1/sandboxes/${sandbox}/events`,
          { event_type: 'agent.tool_use', event_data: { tool: 'bash', command }, source: 'agent' },
          worker,
        );
        expect(posted.status).toBeLessThan(300);
        await new Promise((resolve) => setTimeout(resolve, 500));
        return frames.some((frame) => frame.includes('agent.tool_use') && frame.includes(sandbox));
      },
      30_000,
    );
  } finally {
    ws.close();
  }
}
