import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { testInfra } from '@sandbox-relay/testing';

const ROOT = path.resolve(__dirname, '../../../..');

/** Every process spawned by a suite, so a failing test cannot leave one running (and jest waiting on it). */
const spawned = new Set<ChildProcess>();

/** Kills whatever is still running; call from afterAll/afterEach. */
export async function killSpawned(): Promise<void> {
  await Promise.all(
    [...spawned].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
  spawned.clear();
}

export interface RelayProcess {
  child: ChildProcess;
  http: string;
  /** Log lines (JSON) the process printed so far. */
  logs: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Runs an app's real `main.ts` as its own process (as a Deployment would), waits for its "listening"
 * log line and returns where it listens.
 */
export async function spawnApp(
  app: string,
  env: Record<string, string> = {},
  timeoutMs = 20_000,
): Promise<RelayProcess> {
  const { databaseUrl, redisUrl } = testInfra();
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'apps', app, 'src', 'main.ts')], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  spawned.add(child);
  child.once('exit', () => spawned.delete(child));
  const logs: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const http = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${app} did not start within ${timeoutMs} ms:\n${logs.join('\n')}`)),
      timeoutMs,
    );
    const onLine = (line: string) => {
      logs.push(line);
      const url = /"url":"(http:\/\/[^"]+)"/.exec(line)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve(url);
      }
    };
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      lines.forEach(onLine);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`${app} exited with ${code} before listening:\n${logs.join('\n')}`));
    });
  });
  return { child, http, logs, exited };
}
