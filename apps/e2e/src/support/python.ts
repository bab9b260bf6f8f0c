import { execFileSync, spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';

// Tests of the original system's (OmoiOS) clients run real Python: what they check is what OmoiOS's
// Python sends and parses (pydantic's JSON, httpx's requests, the redis package's pub/sub). Each
// client is written by us to the original's wire (apps/e2e/python); none of its code is copied.

const ROOT = path.resolve(__dirname, '../../../..');
const VENV = path.join(ROOT, 'tmp', 'python-omoios');
/** The libraries OmoiOS's services, worker and frontend tests use, at the versions its backend pins or newer. */
const REQUIREMENTS = ['pydantic>=2.5,<3', 'redis>=5,<9', 'httpx>=0.27,<1', 'websockets>=12,<17'];
export const PYTHON_DIR = path.join(ROOT, 'apps', 'e2e', 'python');

let ready: string | undefined;

const run = (cmd: string, args: string[]) =>
  execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
const IMPORTS = `import importlib.metadata as m; [m.version(p) for p in ('pydantic','redis','httpx','websockets')]`;

/**
 * The interpreters to make the venv with, newest first: `OMOIOS_TEST_PYTHON` alone when set, else every
 * `python3` on PATH. Not just the first: Nx puts node's own directory (`/usr/bin` here) ahead of the
 * user's PATH, which hides a newer python3 (pyenv's) behind the system's, and on an offline index the
 * system's 3.11.2 cannot get the redis package's dependencies (async-timeout, needed before 3.11.3).
 */
function interpreters(): string[] {
  if (process.env['OMOIOS_TEST_PYTHON']) return [process.env['OMOIOS_TEST_PYTHON']];
  const found = new Map<string, number[]>();
  for (const dir of (process.env['PATH'] ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'python3');
    if (!dir || found.has(candidate) || !existsSync(candidate)) continue;
    try {
      const version = run(candidate, ['-c', 'import sys; print(*sys.version_info[:3])']).toString().trim();
      found.set(candidate, version.split(' ').map(Number));
    } catch {
      // not a working interpreter
    }
  }
  const newer = (a: number[], b: number[]) => a.findIndex((part, index) => part !== b[index]);
  return [...found.entries()]
    .sort(([, a], [, b]) => {
      const at = newer(a, b);
      return at === -1 ? 0 : b[at]! - a[at]!;
    })
    .map(([candidate]) => candidate);
}

/** Makes the venv with `interpreter` and installs the client libraries (pip, from the machine's index). */
function makeVenv(interpreter: string, python: string): void {
  if (!existsSync(python)) run(interpreter, ['-m', 'venv', VENV]);
  try {
    run(python, ['-c', IMPORTS]);
  } catch {
    // No retries: an index this machine cannot reach (the public one, offline) is skipped at once, not retried for minutes.
    const pip = ['-m', 'pip', 'install', '--quiet', '--retries', '0', '--timeout', '10', '--disable-pip-version-check'];
    run(python, [...pip, ...REQUIREMENTS]);
    run(python, ['-c', IMPORTS]);
  }
}

/**
 * The venv's python, made on first use with the newest interpreter that can host the client libraries.
 * Fails with what to do when none can: these tests are not optional.
 */
export function omoiosPython(): string {
  if (ready) return ready;
  const python = path.join(VENV, 'bin', 'python');
  const failures: string[] = [];
  const candidates = existsSync(python) ? [python, ...interpreters()] : interpreters();
  for (const interpreter of candidates) {
    try {
      makeVenv(interpreter, python);
      ready = python;
      return python;
    } catch (error) {
      const detail = (error as { stderr?: Buffer }).stderr?.toString().trim() ?? (error as Error).message;
      failures.push(
        `${interpreter}: ${detail
          .split('\n')
          .filter((line) => !line.includes('WARNING'))
          .join('\n')}`,
      );
      rmSync(VENV, { recursive: true, force: true });
    }
  }
  throw new Error(
    `the OmoiOS client tests need Python 3 with venv and pip able to install ${REQUIREMENTS.join(', ')} ` +
      `(Debian: apt-get install python3-venv; or point OMOIOS_TEST_PYTHON at an interpreter); making ${VENV} failed:\n` +
      (failures.join('\n') || 'no python3 on PATH'),
  );
}

export interface PythonRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a script of apps/e2e/python with the venv's python; resolves when it exits (killed after `timeoutMs`). */
export function runPython(
  script: string,
  args: string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<PythonRun> {
  const python = omoiosPython();
  return new Promise((resolve, reject) => {
    const child = spawn(python, [path.join(PYTHON_DIR, script), ...args], {
      env: { PATH: process.env.PATH ?? '', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs a script that prints one JSON document, and parses it; a failing script fails with its stderr. */
export async function runPythonJson<T = unknown>(
  script: string,
  args: string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<T> {
  const result = await runPython(script, args, options);
  if (result.code !== 0) throw new Error(`python ${script} exited ${result.code}:\n${result.stderr}\n${result.stdout}`);
  return JSON.parse(result.stdout) as T;
}
