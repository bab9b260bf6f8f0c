import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { TaskView } from '@sandbox-relay/contracts';
import { waitFor, type ProbeFrame } from '@sandbox-relay/testing';

const ROOT = path.resolve(__dirname, '../../../..');

/** Builds the worker bundle the local provider runs (`dist/worker/worker.js`). */
export function buildWorkerBundle(): void {
  const built = spawnSync(process.execPath, [path.join(ROOT, 'tools/build-worker.mjs')], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`worker bundle build failed:\n${built.stderr}`);
}

export async function postTask(http: string, body: object): Promise<TaskView> {
  const res = await fetch(`${http}/api/v1/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as TaskView;
  if (res.status !== 201) throw new Error(`POST /api/v1/tasks answered ${res.status}: ${JSON.stringify(json)}`);
  return json;
}

export async function getTask(http: string, taskId: string): Promise<TaskView> {
  const res = await fetch(`${http}/api/v1/tasks/${taskId}`);
  if (res.status !== 200) throw new Error(`GET task answered ${res.status}`);
  return (await res.json()) as TaskView;
}

export async function stopTask(http: string, taskId: string): Promise<number> {
  const res = await fetch(`${http}/api/v1/tasks/${taskId}/stop`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  return res.status;
}

export const ofType = (frames: readonly ProbeFrame[], type: string, entityId?: string) =>
  frames.filter((frame) => frame.event_type === type && (entityId === undefined || frame.entity_id === entityId));

/** The pid a worker reported in its `agent.started` (the local provider runs it as a plain child). */
export async function workerPid(frames: readonly ProbeFrame[], sandboxId: string, timeoutMs = 20_000): Promise<number> {
  const started = await waitFor(
    () => ofType(frames, 'agent.started', sandboxId)[0],
    `agent.started of ${sandboxId}`,
    timeoutMs,
  );
  return Number(started.payload!.pid);
}

/** True when the process is gone or a zombie (reaped later by its parent). */
export function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    return / Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/** A live process's environment (Linux), to see what the provider really handed the worker. */
export function processEnv(pid: number): Record<string, string> {
  const raw = readFileSync(`/proc/${pid}/environ`, 'utf8');
  return Object.fromEntries(
    raw
      .split('\0')
      .filter(Boolean)
      .map((entry) => {
        const at = entry.indexOf('=');
        return [entry.slice(0, at), entry.slice(at + 1)];
      }),
  );
}

/** Resumes a stopped process, so a test that fails mid-way leaves nothing frozen behind. */
export function resume(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, 'SIGCONT');
  } catch {
    /* gone already */
  }
}
