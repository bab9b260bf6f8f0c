import { uniqueId, waitFor } from '@sandbox-relay/testing';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FakeRelayServer } from './lib/spec-support/fake-relay-server';

const root = path.resolve(__dirname, '../../..');
const bundle = path.join(root, 'dist', 'worker', 'worker.js');

interface Exit {
  code: number | null;
  stderr: string;
}

/** Runs the bundle with exactly `env` (plus PATH), as a provider would inside a sandbox. */
function startBundle(env: Record<string, string>, cwd: string): { child: ChildProcess; exit: Promise<Exit> } {
  const child = spawn(process.execPath, [bundle], {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<Exit>((resolve) => child.on('close', (code) => resolve({ code, stderr })));
  return { child, exit };
}

describe('the bundled worker (dist/worker/worker.js)', () => {
  let server: FakeRelayServer;
  let workspace: string;
  const children: ChildProcess[] = [];

  beforeAll(() => {
    const output = execFileSync(process.execPath, [path.join(root, 'tools', 'build-worker.mjs')], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(output).toMatch(/^built dist\/worker\/worker\.js \(\d+\.\d KiB\)\n$/);
  });

  beforeEach(async () => {
    server = new FakeRelayServer(uniqueId('sbx'));
    await server.start();
    workspace = mkdtempSync(path.join(tmpdir(), 'worker-bundle-'));
  });

  afterEach(async () => {
    children.splice(0).forEach((child) => child.kill('SIGKILL'));
    await server.stop();
    rmSync(workspace, { recursive: true, force: true });
  });

  const env = (extra: Record<string, string>) => ({
    RELAY_URL: server.url,
    SANDBOX_ID: server.sandboxId,
    TASK_ID: 'task-bundle',
    WORKSPACE_DIR: workspace,
    POLL_INTERVAL_MS: '20',
    LOG_LEVEL: 'silent',
    ...extra,
  });
  const storedTypes = () => server.events.map((event) => event.event_type).filter((type) => type !== 'heartbeat');

  it('exits 1 with a readable message when its env is wrong', async () => {
    const { child, exit } = startBundle({ RELAY_URL: 'not a url', TASK_PLAN: '[{"run": 1}]' }, workspace);
    children.push(child);
    const { code, stderr } = await exit;
    expect(code).toBe(1);
    expect(stderr).toBe(
      [
        'sandbox-relay worker: invalid worker configuration:',
        '  - RELAY_URL: must be an http:// or https:// URL',
        '  - SANDBOX_ID: is required but not set',
        '  - TASK_ID: is required but not set',
        '  - TASK_PLAN: steps[0].run: Invalid input',
        '',
      ].join('\n'),
    );
  });

  it('runs a plan to completion with plain node, reports it to the relay and exits 0', async () => {
    const plan = {
      steps: [{ run: 'echo from-bundle' }, { write: { path: 'f.txt', content: 'x\n' } }],
      complete_when_done: true,
    };
    const { child, exit } = startBundle(env({ TASK_PLAN: JSON.stringify(plan) }), workspace);
    children.push(child);
    expect((await exit).code).toBe(0);
    expect(storedTypes()).toEqual([
      'agent.started',
      'agent.tool_use',
      'agent.tool_completed',
      'agent.file_edited',
      'agent.completed',
    ]);
    expect(server.eventsOfType('agent.tool_completed')[0]?.event_data).toMatchObject({
      stdout: 'from-bundle\n',
      exit_code: 0,
    });
  });

  it('on SIGTERM stops the running command, flushes its events and exits 0', async () => {
    const { child, exit } = startBundle(env({ TASK_PLAN: JSON.stringify([{ run: 'sleep 30' }]) }), workspace);
    children.push(child);
    await waitFor(() => storedTypes().includes('agent.tool_use'), 'the command to start');
    const signalledAt = Date.now();
    child.kill('SIGTERM');
    expect((await exit).code).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(1_500);
    expect(storedTypes()).toEqual(['agent.started', 'agent.tool_use', 'agent.tool_completed']);
    expect(server.eventsOfType('heartbeat').at(-1)?.event_data).toMatchObject({ status: 'stopping' });
  });
});
