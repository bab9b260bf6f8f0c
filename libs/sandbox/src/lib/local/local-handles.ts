import { readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { killMarked } from './marked-processes';

/**
 * What a local worker leaves on disk so that a relay other than the one that spawned it (the same
 * standalone restarted after a crash) can still stop it: the worker's pid, which leads its own
 * process group (it is spawned `detached`), its start time (`/proc/<pid>/stat`, so a reused pid is
 * never taken for the worker) and its workspace.
 */
export interface LocalHandle {
  pid: number;
  /** Clock ticks since boot at which the process started; null where `/proc` is not available. */
  startTime: string | null;
  workspaceDir: string;
  /** The worker's `SANDBOX_MARK_VARIABLE` value (absent in handles written before it existed). */
  mark?: string;
}

const POLL_MS = 50;
const KILL_REAP_MS = 5_000;

/** One JSON file per sandbox under `<workspaceRoot>/.sandbox-relay-handles`. */
export class LocalHandles {
  private readonly dir: string;

  constructor(workspaceRoot: string) {
    this.dir = join(workspaceRoot, '.sandbox-relay-handles');
  }

  async write(sandboxId: string, pid: number, workspaceDir: string, mark: string): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const handle: LocalHandle = { pid, startTime: processStartTime(pid), workspaceDir, mark };
    await writeFile(this.path(sandboxId), JSON.stringify(handle));
  }

  /** The handle of a worker that still runs, or null (none recorded, or its process is gone). */
  async live(sandboxId: string): Promise<LocalHandle | null> {
    const handle = await this.read(sandboxId);
    return handle && isAlive(handle) ? handle : null;
  }

  /** The recorded handle, whether or not its worker still runs; null when none is recorded. */
  async read(sandboxId: string): Promise<LocalHandle | null> {
    return readFile(this.path(sandboxId), 'utf8').then(
      (text) => JSON.parse(text) as LocalHandle,
      () => null,
    );
  }

  async remove(sandboxId: string): Promise<void> {
    await rm(this.path(sandboxId), { force: true });
  }

  private path(sandboxId: string): string {
    // Sandbox ids are [A-Za-z0-9._-] (SandboxSpec), so they are safe file names; `..` is not one.
    return join(this.dir, `${sandboxId.replace(/^\.+/, '_')}.json`);
  }
}

/**
 * Stops a worker this process did not spawn: SIGTERM to the worker, up to `graceMs` for it to exit,
 * then SIGKILL to its whole process group (the commands it started die with it either way).
 */
export async function stopAdopted(handle: LocalHandle, graceMs: number): Promise<{ forced: boolean }> {
  if (graceMs > 0) {
    signal(handle.pid, 'SIGTERM');
    if (await waitGone(handle, graceMs)) {
      signal(-handle.pid, 'SIGKILL');
      killLeftovers(handle);
      return { forced: false };
    }
  }
  signal(-handle.pid, 'SIGKILL');
  killLeftovers(handle);
  if (!(await waitGone(handle, KILL_REAP_MS)))
    throw new Error(`adopted worker pid ${handle.pid} survived SIGKILL for ${KILL_REAP_MS} ms`);
  return { forced: true };
}

/** What the worker started in process groups of its own (its plan commands), found by its mark. */
export function killLeftovers(handle: LocalHandle): void {
  if (typeof handle.mark === 'string' && handle.mark.length > 0) killMarked(handle.mark);
}

function isAlive(handle: LocalHandle): boolean {
  try {
    process.kill(handle.pid, 0);
  } catch {
    return false;
  }
  if (handle.startTime === null) return true;
  const stat = procStat(handle.pid);
  // A different start time: the pid was reused by another process. A zombie has exited.
  return stat !== null && stat.startTime === handle.startTime && stat.state !== 'Z';
}

async function waitGone(handle: LocalHandle, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (isAlive(handle)) {
    if (Date.now() >= deadline) return false;
    await sleep(POLL_MS);
  }
  return true;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    // ESRCH: gone already, which is the outcome we want.
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

function processStartTime(pid: number): string | null {
  return procStat(pid)?.startTime ?? null;
}

/** Fields 3 (state) and 22 (starttime) of `/proc/<pid>/stat`, read after the command name's closing parenthesis. */
function procStat(pid: number): { state: string; startTime: string } | null {
  try {
    const raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0]!, startTime: fields[19]! };
  } catch {
    return null;
  }
}
