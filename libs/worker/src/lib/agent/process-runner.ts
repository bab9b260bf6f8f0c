import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { storableText } from '../util/text';

export interface ProcessSpec {
  /** A shell command line (`sh -c`) or an argv run without a shell. */
  command: string | string[];
  cwd: string;
  env: Record<string, string | undefined>;
  signal: AbortSignal;
  timeoutMs?: number;
  /** Between SIGTERM and SIGKILL when the run is aborted or times out. */
  killGraceMs: number;
  /** Bytes of stdout and of stderr kept (the end of each). */
  tailBytes: number;
}

export interface OutputTail {
  text: string;
  /** Bytes the stream produced in total; more than the tail when it was cut. */
  bytes: number;
  truncated: boolean;
}

export interface ProcessResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: OutputTail;
  stderr: OutputTail;
  durationMs: number;
  timedOut: boolean;
  aborted: boolean;
  /** Set when the process could not start at all (missing binary, missing cwd). */
  spawnError?: string;
}

/** Keeps the last `limit` bytes of a stream without holding all of a chatty build's output. */
class TailBuffer {
  private chunks: Buffer[] = [];
  private held = 0;
  total = 0;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.held += chunk.length;
    this.total += chunk.length;
    while (this.chunks.length > 1 && this.held - (this.chunks[0]?.length ?? 0) >= this.limit) {
      this.held -= this.chunks.shift()?.length ?? 0;
    }
  }

  read(): OutputTail {
    const bytes = Buffer.concat(this.chunks);
    const tail = bytes.subarray(Math.max(0, bytes.length - this.limit));
    return { text: storableText(tail.toString('utf8')), bytes: this.total, truncated: this.total > tail.length };
  }
}

/**
 * Signals the whole process group: with `shell: true` the child is `sh`, and `sh -c 'make test'`
 * leaves `make` and its children running if only the shell is killed.
 */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

/**
 * Env var every command starts with, a fresh value per run. Descendants inherit it, including those
 * that left the process group (`setsid`, daemons) and were orphaned, so an interrupt can find them in
 * /proc where the group kill cannot reach (Jenkins' process-tree killer works the same way).
 */
export const RUN_MARKER_VARIABLE = 'SANDBOX_RELAY_RUN_ID';

/** Signals every other process whose initial env holds `name=value`. Linux only; elsewhere a no-op. */
function killMarked(name: string, value: string, signal: NodeJS.Signals): void {
  const needle = Buffer.from(`${name}=${value}\0`);
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`);
      // Entries are NUL-separated: match a whole entry, at the start or after a NUL.
      const at = environ.indexOf(needle);
      if (at === 0 || (at > 0 && environ[at - 1] === 0)) process.kill(Number(entry), signal);
    } catch {
      // Gone meanwhile, or not ours to read: nothing to do.
    }
  }
}

function start(spec: ProcessSpec, marker: string): ChildProcess {
  // detached: the child leads its own process group, so killGroup reaches every descendant that stays in it.
  const env = { ...spec.env, [RUN_MARKER_VARIABLE]: marker };
  const options: SpawnOptions = { cwd: spec.cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] };
  if (typeof spec.command === 'string') return spawn(spec.command, { ...options, shell: true });
  const [file, ...args] = spec.command;
  return spawn(file as string, args, options);
}

/**
 * Runs one command to completion, keeping the tails of its output. Aborting `spec.signal` (or the
 * timeout) sends SIGTERM to the process group, then SIGKILL after the grace; the promise settles
 * once the process is gone, or shortly after SIGKILL even if a stray descendant holds the pipes open.
 */
export function runProcess(spec: ProcessSpec): Promise<ProcessResult> {
  const startedAt = Date.now();
  const stdout = new TailBuffer(spec.tailBytes);
  const stderr = new TailBuffer(spec.tailBytes);
  let timedOut = false;
  let aborted = false;
  let stopping = false;
  const timers: NodeJS.Timeout[] = [];
  const marker = randomUUID();

  return new Promise<ProcessResult>((resolve) => {
    let child: ChildProcess;
    let settled = false;
    const finish = (exitCode: number | null, signal: NodeJS.Signals | null, spawnError?: string) => {
      if (settled) return;
      settled = true;
      timers.forEach(clearTimeout);
      spec.signal.removeEventListener('abort', onAbort);
      child?.stdout?.destroy();
      child?.stderr?.destroy();
      const result: ProcessResult = {
        exitCode,
        signal,
        stdout: stdout.read(),
        stderr: stderr.read(),
        durationMs: Date.now() - startedAt,
        timedOut,
        aborted,
      };
      resolve(spawnError === undefined ? result : { ...result, spawnError });
    };
    const stop = () => {
      if (stopping) return;
      stopping = true;
      killGroup(child, 'SIGTERM');
      killMarked(RUN_MARKER_VARIABLE, marker, 'SIGTERM');
      // Not cleared by finish: the child may exit at SIGTERM while a marked descendant ignores it.
      // The group is only signalled while the child is unreaped (its pid could be reused after).
      setTimeout(() => {
        if (!settled) killGroup(child, 'SIGKILL');
        killMarked(RUN_MARKER_VARIABLE, marker, 'SIGKILL');
      }, spec.killGraceMs);
      // A descendant that escaped both kills may keep stdout open forever; do not wait on it.
      timers.push(setTimeout(() => finish(child.exitCode, child.signalCode), spec.killGraceMs + 1_000));
    };
    const onAbort = () => {
      aborted = true;
      stop();
    };

    try {
      child = start(spec, marker);
    } catch (error) {
      // Synchronous spawn failures (e.g. an invalid cwd type) are reported like asynchronous ones.
      child = undefined as unknown as ChildProcess;
      finish(null, null, (error as Error).message);
      return;
    }
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (error) => finish(null, null, error.message));
    child.on('close', (code, signal) => finish(code, signal));

    if (spec.signal.aborted) onAbort();
    else spec.signal.addEventListener('abort', onAbort, { once: true });
    if (spec.timeoutMs !== undefined) {
      timers.push(
        setTimeout(() => {
          timedOut = true;
          stop();
        }, spec.timeoutMs),
      );
    }
  });
}
