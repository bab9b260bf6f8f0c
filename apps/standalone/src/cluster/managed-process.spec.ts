import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { testLogger, waitFor } from '@sandbox-relay/testing';
import { ManagedProcess, type ManagedProcessSpec } from './managed-process';

// Real child processes (node -e …): what the launcher does with its replicas, on a small scale.
describe('ManagedProcess: a process kept running as a Deployment keeps a pod', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'managed-process-'));
  const running: ManagedProcess[] = [];
  let changes = 0;

  const managed = (script: string, overrides: Partial<ManagedProcessSpec> = {}) => {
    const process = new ManagedProcess(
      {
        name: 'test',
        command: globalThis.process.execPath,
        args: ['-e', script],
        env: globalThis.process.env,
        cwd: dir,
        logFile: path.join(dir, `${running.length}.log`),
        probe: async () => true,
        probeIntervalMs: 50,
        stopSignal: 'SIGTERM',
        backoff: { baseMs: 50, maxMs: 200 },
        ...overrides,
      },
      testLogger(),
      () => (changes += 1),
    );
    running.push(process);
    return process;
  };

  afterEach(async () => {
    await Promise.all(running.map((process) => process.stop(1_000)));
    running.length = 0;
  });

  it('is ready once its probe passes, and unready when the probe fails', async () => {
    let healthy = true;
    const process = managed('setInterval(() => {}, 1000)', { probe: async () => healthy });
    process.start();
    await waitFor(() => process.status === 'ready', 'ready');
    healthy = false;
    await waitFor(() => process.status === 'unready', 'unready');
    expect(process.pid).toEqual(expect.any(Number));
    expect(changes).toBeGreaterThanOrEqual(3);
  });

  it('starts a process that exits again, with backoff, counting restarts and keeping its output', async () => {
    // One string: with FORCE_COLOR in the environment (CI), console.log would colour a number argument.
    const process = managed('console.log("run " + process.pid); process.exit(3)');
    process.start();
    await waitFor(() => process.restarts >= 3, 'three restarts', 10_000);
    expect(process.lastExit).toMatchObject({ code: 3, signal: null });
    const runs = readFileSync(process.spec.logFile, 'utf8').match(/^run \d+$/gm) ?? [];
    expect(runs.length).toBeGreaterThanOrEqual(3);
    await process.stop(1_000);
    const restarts = process.restarts;
    expect(process.status).toBe('stopped');
    // Stopped means stopped: no restart is pending any more.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(process.restarts).toBe(restarts);
  });

  it('stops gracefully with its stop signal, and by SIGKILL past the deadline', async () => {
    // Ready once the script has run (its handlers are in place): it says so in its log.
    const saidUp = (file: () => string) => async () => readFileSync(file(), 'utf8').includes('up');
    const polite: ManagedProcess = managed('console.log("up"); setInterval(() => {}, 1000)', {
      probe: saidUp(() => polite.spec.logFile),
    });
    const stubborn: ManagedProcess = managed(
      "process.on('SIGTERM', () => {}); console.log('up'); setInterval(() => {}, 1000)",
      { probe: saidUp(() => stubborn.spec.logFile) },
    );
    polite.start();
    stubborn.start();
    await waitFor(() => polite.status === 'ready' && stubborn.status === 'ready', 'both ready');
    await Promise.all([polite.stop(5_000), stubborn.stop(300)]);
    expect(polite.lastExit).toMatchObject({ signal: 'SIGTERM' });
    expect(stubborn.lastExit).toMatchObject({ signal: 'SIGKILL' });
    expect([polite.status, stubborn.status, polite.pid, stubborn.pid]).toEqual(['stopped', 'stopped', null, null]);
  });
});
