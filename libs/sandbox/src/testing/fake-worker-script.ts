import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface FakeWorkerScriptOptions {
  /** `exit`: leave cleanly on SIGTERM; `ignore`: keep running (exercises the forced kill). */
  onSigterm?: 'exit' | 'ignore';
  /** Exit on its own right after start with this code (exercises `stopped` / `failed`). */
  exitCode?: number;
  /**
   * Start a long-lived child and print its pid (exercises killing the process group). `detached`: in
   * a process group of its own, as the real worker starts every plan command.
   */
  spawnGrandchild?: boolean | 'detached';
}

/**
 * Writes a tiny stand-in for the bundled worker: prints its env, cwd and a stderr line, then idles
 * until signalled. Lines are stable so specs can wait for them: `ENV {...}`, `CWD …`, `READY`.
 */
export async function writeFakeWorkerScript(dir: string, options: FakeWorkerScriptOptions = {}): Promise<string> {
  const path = join(dir, `fake-worker-${Math.random().toString(36).slice(2, 8)}.js`);
  const lines = [
    `console.log('ENV ' + JSON.stringify(process.env));`,
    `console.log('CWD ' + process.cwd());`,
    `console.error('STDERR hello from the worker');`,
    options.spawnGrandchild
      ? `const child = require('node:child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore', detached: ${options.spawnGrandchild === 'detached'} }); child.unref(); console.log('GRANDCHILD ' + child.pid);`
      : '',
    options.onSigterm === 'ignore'
      ? `process.on('SIGTERM', () => console.log('IGNORING SIGTERM'));`
      : `process.on('SIGTERM', () => { console.log('GOT SIGTERM'); process.exit(0); });`,
    options.exitCode === undefined ? `setInterval(() => {}, 1 << 30);` : `process.exitCode = ${options.exitCode};`,
    `console.log('READY');`,
  ];
  await writeFile(path, lines.filter(Boolean).join('\n') + '\n');
  return path;
}
