import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
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

/**
 * The venv's python, made on first use (`python3 -m venv`, then pip from the machine's index). Fails
 * with what to do when it cannot be made: these tests are not optional.
 */
export function omoiosPython(): string {
  if (ready) return ready;
  const python = path.join(VENV, 'bin', 'python');
  const run = (cmd: string, args: string[]) =>
    execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
  try {
    if (!existsSync(python)) run('python3', ['-m', 'venv', VENV]);
    const check = `import importlib.metadata as m; [m.version(p) for p in ('pydantic','redis','httpx','websockets')]`;
    try {
      run(python, ['-c', check]);
    } catch {
      // No retries: an index this machine cannot reach (the public one, offline) is skipped at once, not retried for minutes.
      run(python, [
        '-m',
        'pip',
        'install',
        '--quiet',
        '--retries',
        '0',
        '--timeout',
        '10',
        '--disable-pip-version-check',
        ...REQUIREMENTS,
      ]);
      run(python, ['-c', check]);
    }
  } catch (error) {
    const detail = (error as { stderr?: Buffer }).stderr?.toString().trim() ?? (error as Error).message;
    throw new Error(
      `the OmoiOS client tests need Python 3 with venv and pip able to install ${REQUIREMENTS.join(', ')} ` +
        `(Debian: apt-get install python3-venv); making ${VENV} failed:\n${detail}`,
      { cause: error },
    );
  }
  ready = python;
  return python;
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
