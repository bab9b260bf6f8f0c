import { waitFor } from '@sandbox-relay/testing';
import { applyPatch } from 'diff';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AgentEmittedType, TurnContext } from './agent';
import { ShellAgent } from './shell-agent';

interface Emitted {
  type: AgentEmittedType;
  data: Record<string, unknown>;
}

/**
 * Processes of the group led by `pgid` that still run. Zombies are dead: an orphan is a zombie until
 * PID 1 reaps it, and some sandboxes' PID 1 never does (this test machine's does not).
 */
function liveGroupMembers(pgid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        // /proc/<pid>/stat: "pid (comm) state ppid pgrp ..."; comm may hold spaces, so split after ')'.
        const [state, , pgrp] = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
        return Number(pgrp) === pgid && state !== 'Z';
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Whether `pid` runs (a zombie has exited; see `liveGroupMembers`). */
function isLive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('ShellAgent', () => {
  let workspace: string;
  let agent: ShellAgent;
  let emitted: Emitted[];
  let controller: AbortController;
  let context: TurnContext;

  beforeEach(() => {
    workspace = mkdtempSync(path.join(tmpdir(), 'worker-shell-'));
    agent = new ShellAgent({
      workspaceDir: workspace,
      env: { PATH: process.env.PATH, MARKER: 'from-env' },
      killGraceMs: 300,
    });
    emitted = [];
    controller = new AbortController();
    context = { signal: controller.signal, emit: (type, data) => emitted.push({ type, data }), turn: 1 };
  });

  afterEach(() => rmSync(workspace, { recursive: true, force: true }));

  const run = (plan: unknown) => agent.runTurn({ source: 'task', content: JSON.stringify(plan) }, context);
  const ofType = (type: string) => emitted.filter((event) => event.type === type).map((event) => event.data);

  it('runs a command in the workspace and reports its call and result with output tails', async () => {
    await run([{ run: 'pwd; echo "$MARKER"; echo oops >&2; exit 3', continue_on_error: true }]);
    expect(ofType('agent.tool_use')).toEqual([
      {
        tool: 'bash',
        input: { command: 'pwd; echo "$MARKER"; echo oops >&2; exit 3' },
        call_id: 'turn1-step0',
        step: 0,
      },
    ]);
    const [result] = ofType('agent.tool_completed');
    expect(result).toMatchObject({
      tool: 'bash',
      call_id: 'turn1-step0',
      success: false,
      exit_code: 3,
      stdout: `${workspace}\nfrom-env\n`,
      stderr: 'oops\n',
      stdout_truncated: false,
    });
  });

  it('runs argv without a shell and reports a missing binary as a failed call', async () => {
    await run({
      steps: [
        { run: ['node', '-e', 'process.stdout.write(process.argv[1])', '$HOME'] },
        { run: ['definitely-not-a-binary-x'] },
      ],
      stop_on_failure: false,
    });
    const results = ofType('agent.tool_completed');
    expect(results[0]).toMatchObject({ tool: 'exec', success: true, exit_code: 0, stdout: '$HOME' });
    expect(results[1]).toMatchObject({ tool: 'exec', success: false, error: expect.stringContaining('ENOENT') });
  });

  it('keeps only the end of a long output', async () => {
    const small = new ShellAgent({ workspaceDir: workspace, env: { PATH: process.env.PATH }, tailBytes: 16 });
    await small.runTurn({ source: 'task', content: JSON.stringify([{ run: 'seq 1 2000' }]) }, context);
    expect(ofType('agent.tool_completed')[0]).toMatchObject({
      stdout: '1996\n1997\n1998\n1999\n2000\n'.slice(-16),
      stdout_truncated: true,
    });
  });

  it('stops the plan at the first failed command unless told to go on', async () => {
    const result = await run({ steps: [{ run: 'false' }, { say: 'never' }], complete_when_done: true });
    expect(result).toEqual({});
    expect(ofType('agent.message')).toEqual([
      { role: 'assistant', content: 'Stopped the plan: step 1 (run) failed; 1 step(s) not run.' },
    ]);
    emitted.length = 0;
    expect(
      await run({ steps: [{ run: 'false', continue_on_error: true }, { say: 'went on' }], complete_when_done: true }),
    ).toEqual({ taskComplete: true });
    expect(ofType('agent.message')).toEqual([{ role: 'assistant', content: 'went on', step: 1 }]);
  });

  it('reports a file write as agent.file_edited with a unified diff that reproduces the new content', async () => {
    writeFileSync(path.join(workspace, 'notes.txt'), 'alpha\nbeta\ngamma\n');
    await run([
      { write: { path: 'notes.txt', content: 'alpha\nBETA\ngamma\ndelta\n' } },
      { write: { path: 'src/new.ts', content: 'export const x = 1;\n' } },
    ]);
    const [edit, created] = ofType('agent.file_edited');
    expect(edit).toMatchObject({ path: 'notes.txt', created: false, additions: 2, deletions: 1, step: 0 });
    expect(edit?.diff).toBe(
      '--- a/notes.txt\n+++ b/notes.txt\n@@ -1,3 +1,4 @@\n alpha\n-beta\n+BETA\n gamma\n+delta\n',
    );
    expect(applyPatch('alpha\nbeta\ngamma\n', edit?.diff as string)).toBe(
      readFileSync(path.join(workspace, 'notes.txt'), 'utf8'),
    );
    expect(created).toMatchObject({ path: 'src/new.ts', created: true, additions: 1, deletions: 0 });
    expect(created?.diff).toMatch(
      /^--- \/dev\/null\n\+\+\+ b\/src\/new\.ts\n@@ -0,0 \+1,1 @@\n\+export const x = 1;\n$/,
    );
  });

  it('refuses to write outside the workspace', async () => {
    await run([{ write: { path: '../escape.txt', content: 'x' } }]);
    expect(ofType('agent.error')).toEqual([
      { message: expect.stringContaining('outside the workspace'), fatal: false, step: 0 },
    ]);
    expect(ofType('agent.file_edited')).toEqual([]);
  });

  it('reports say and think steps, acknowledges plain text and explains an invalid plan', async () => {
    await run([{ think: 'planning' }, { say: 'hello' }]);
    await agent.runTurn({ source: 'user_message', content: 'please fix the build', messageId: '7' }, context);
    await agent.runTurn({ source: 'user_message', content: '[{"run": 42}]', messageId: '8' }, context);
    expect(emitted.map((event) => event.type)).toEqual([
      'agent.thinking',
      'agent.message',
      'agent.message',
      'agent.error',
    ]);
    expect(emitted[2]?.data).toMatchObject({ role: 'assistant', received: 'please fix the build', in_reply_to: '7' });
    expect(emitted[3]?.data).toMatchObject({
      message: expect.stringMatching(/^invalid plan: steps\[0\]\.run/),
      in_reply_to: '8',
    });
  });

  it('on abort kills the running command and its children, and returns promptly', async () => {
    const turn = run([{ run: 'echo $$ > group.pid; sleep 30; echo late' }, { say: 'never' }]);
    const pidFile = path.join(workspace, 'group.pid');
    const pgid = await waitFor(() => {
      try {
        return Number(readFileSync(pidFile, 'utf8').trim());
      } catch {
        return 0;
      }
    }, 'the command to start');
    await waitFor(() => liveGroupMembers(pgid).length === 2, 'sh and its sleep to run');
    const abortedAt = Date.now();
    controller.abort();
    await turn;
    expect(Date.now() - abortedAt).toBeLessThan(1_000);
    expect(liveGroupMembers(pgid)).toEqual([]);
    expect(ofType('agent.tool_completed')[0]).toMatchObject({
      success: false,
      interrupted: true,
      error: 'interrupted',
      signal: 'SIGTERM',
    });
    expect(ofType('agent.message')).toEqual([]);
  });

  it('on abort also kills descendants that left the process group (setsid), even once orphaned', async () => {
    // One escapee still under the shell, one double-forked daemon whose parent already exited (PID 1 adopted it).
    const command = "setsid sh -c 'sleep 30 & echo $! > daemon.pid'; setsid sleep 30 & echo $! > child.pid; wait";
    const turn = run([{ run: command }]);
    const readPid = (name: string) => {
      try {
        return Number(readFileSync(path.join(workspace, name), 'utf8').trim());
      } catch {
        return 0;
      }
    };
    const pids = await waitFor(
      () => (readPid('daemon.pid') && readPid('child.pid') ? [readPid('daemon.pid'), readPid('child.pid')] : null),
      'both escapees to start',
    );
    expect(pids.filter(isLive)).toEqual(pids);
    controller.abort();
    await turn;
    await waitFor(() => pids.filter(isLive).length === 0 || null, 'the escapees to be killed').catch(() => undefined);
    expect(pids.filter(isLive)).toEqual([]);
  });

  it('escalates to SIGKILL when a command ignores SIGTERM', async () => {
    const script =
      "process.on('SIGTERM', () => {}); require('fs').writeFileSync('ready', ''); setInterval(() => {}, 1000)";
    const turn = run([{ run: ['node', '-e', script] }]);
    // Abort only once the handler is installed, or SIGTERM would end node before it could ignore it.
    await waitFor(() => existsSync(path.join(workspace, 'ready')), 'the handler to be installed');
    controller.abort();
    await turn;
    expect(ofType('agent.tool_completed')[0]).toMatchObject({ interrupted: true, signal: 'SIGKILL' });
  });

  it('ends a command at its timeout and interrupts a sleep step', async () => {
    await run({ steps: [{ run: 'sleep 5', timeout_ms: 50 }], stop_on_failure: false });
    expect(ofType('agent.tool_completed')[0]).toMatchObject({
      success: false,
      timed_out: true,
      error: 'timed out after 50 ms',
    });
    const sleeping = run([{ sleep_ms: 30_000 }]);
    controller.abort();
    await expect(sleeping).resolves.toEqual({ taskComplete: false });
  });

  it('records guardian steering', () => {
    agent.steer({ content: 'try another approach', messageId: '3', receivedAt: '2025-01-01T00:00:00.000Z' });
    expect(agent.steeringNotes).toEqual([
      { content: 'try another approach', messageId: '3', receivedAt: '2025-01-01T00:00:00.000Z' },
    ]);
  });
});
