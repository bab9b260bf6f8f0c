import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { EventHistoryPage } from '@sandbox-relay/contracts';
import { LocalProcessProvider, workerBundlePath } from '@sandbox-relay/sandbox';
import { uniqueId, waitFor, WsProbe, type ProbeFrame } from '@sandbox-relay/testing';
import { startRelay, type RunningRelay } from './support/relay';

const ROOT = path.resolve(__dirname, '../../..');

async function sendMessage(http: string, sandbox: string, message_type: string, content: string): Promise<void> {
  const res = await fetch(`${http}/api/v1/sandboxes/${sandbox}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ content, message_type }),
  });
  expect(res.status).toBe(200);
}

async function history(http: string, sandbox: string): Promise<ProbeFrame[]> {
  const events: ProbeFrame[] = [];
  let after = '0';
  for (;;) {
    const page = (await (
      await fetch(`${http}/api/v1/sandboxes/${sandbox}/events?limit=1000&after=${after}`)
    ).json()) as EventHistoryPage;
    events.push(...(page.events as ProbeFrame[]));
    if (!page.next_after) return events;
    after = page.next_after;
  }
}

const ofType = (frames: ProbeFrame[], type: string) => frames.filter((frame) => frame.event_type === type);

// Seed phase 3, by behaviour: a real worker (the bundle a provider uploads) in a local sandbox reports,
// listens, obeys an interrupt and loses nothing while the relay is down.
describe('seed phase 3: the sandbox worker against the relay', () => {
  let relay: RunningRelay;
  /** The relay started again after the outage; afterAll awaits it too, so one the timeout cut short still stops. */
  let restarted: Promise<RunningRelay> | undefined;
  let port: string;
  let provider: LocalProcessProvider;
  let sandboxId = '';

  beforeAll(async () => {
    const built = spawnSync(process.execPath, [path.join(ROOT, 'tools/build-worker.mjs')], { encoding: 'utf8' });
    expect(built.status).toBe(0);
    relay = await startRelay();
    port = new URL(relay.http).port;
    provider = new LocalProcessProvider({
      workerScript: workerBundlePath(),
      baseEnv: { PATH: process.env.PATH, HOME: process.env.HOME },
    });
  });

  afterAll(async () => {
    if (sandboxId) await provider.terminate(sandboxId, { graceMs: 2_000 });
    await relay.stop();
    const again = await restarted?.catch(() => undefined);
    if (again && again !== relay) await again.stop();
  });

  // Its waits add up past the default 20 s on a loaded machine (a relay stopped and started in the middle).
  it('reports a plan live, obeys user messages and interrupts, and survives a relay outage', async () => {
    const taskId = uniqueId('task');
    const plan = [
      { say: 'hello from the sandbox' },
      { write: { path: 'hello.txt', content: 'hi\n' } },
      { run: 'cat hello.txt' },
    ];
    const spawned = await provider.spawn({
      taskId,
      agentId: 'agent-e2e',
      env: {
        RELAY_URL: relay.http,
        TASK_ID: taskId,
        TASK_PLAN: JSON.stringify(plan),
        HEARTBEAT_INTERVAL_MS: '200',
        POLL_INTERVAL_MS: '100',
      },
    });
    sandboxId = spawned.sandboxId;
    const ws = await WsProbe.connect(`${relay.ws}/api/v1/events/ws/events?entity_ids=${sandboxId}&since=0`);
    const live = () => ws.frames.filter((frame) => frame.event_type !== 'heartbeat');

    // 1. The plan's steps arrive live over the gateway, in order.
    await waitFor(() => ofType(ws.frames, 'agent.waiting').length >= 1, 'the first turn to finish', 15_000);
    expect(live().map((frame) => frame.event_type)).toEqual([
      'agent.started',
      'agent.message',
      'agent.file_edited',
      'agent.tool_use',
      'agent.tool_completed',
      'agent.waiting',
    ]);
    const [edit] = ofType(ws.frames, 'agent.file_edited');
    expect(edit!.payload).toMatchObject({ path: 'hello.txt', created: true });
    expect(String(edit!.payload!.diff)).toContain('+hi');
    expect(ofType(ws.frames, 'agent.tool_completed')[0]!.payload).toMatchObject({
      exit_code: 0,
      success: true,
      stdout: 'hi\n',
    });

    // 2. A user message is the next turn; an interrupt stops its long command promptly.
    await sendMessage(relay.http, sandboxId, 'user_message', JSON.stringify([{ run: 'sleep 30' }]));
    await waitFor(() => ofType(ws.frames, 'agent.tool_use').length >= 2, 'the sleep to start', 10_000);
    const interruptedAt = Date.now();
    await sendMessage(relay.http, sandboxId, 'interrupt', 'STOP');
    await waitFor(() => ofType(ws.frames, 'agent.interrupted').length >= 1, 'agent.interrupted', 10_000);
    expect(Date.now() - interruptedAt).toBeLessThan(5_000);
    expect(ofType(ws.frames, 'agent.tool_completed')[1]!.payload).toMatchObject({ success: false, interrupted: true });
    await waitFor(() => ofType(ws.frames, 'agent.waiting').length >= 2, 'waiting after the interrupt', 10_000);
    await ws.close();

    // 3. The relay goes away for a few seconds mid-run; the worker keeps working and loses nothing.
    const outagePlan = [
      { say: 'outage turn started' },
      { sleep_ms: 800 },
      { say: 'said while the relay was down' },
      { sleep_ms: 300 },
      { say: 'also while down' },
    ];
    await sendMessage(relay.http, sandboxId, 'user_message', JSON.stringify(outagePlan));
    await waitFor(
      async () =>
        ofType(await history(relay.http, sandboxId), 'agent.message').some(
          (event) => event.payload!.content === 'outage turn started',
        ),
      'the outage turn to start',
      10_000,
    );
    await relay.stop();
    const outageStart = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const outageEnd = Date.now();
    restarted = startRelay({ PORT: port });
    relay = await restarted;

    const events = await waitFor(
      async () => {
        const all = await history(relay.http, sandboxId);
        return ofType(all, 'agent.waiting').length >= 3 && all;
      },
      'the outage turn to be reported',
      20_000,
    );
    const said = ofType(events, 'agent.message').map((event) => event.payload!.content);
    expect(said.filter((text) => text === 'said while the relay was down')).toHaveLength(1);
    expect(said.filter((text) => text === 'also while down')).toHaveLength(1);
    // Heartbeats (every 200 ms) taken while nothing could receive them arrived afterwards, with no hole.
    const beats = ofType(events, 'heartbeat');
    const during = beats.filter((event) => {
      const at = Date.parse(String(event.payload!.timestamp));
      return at > outageStart && at < outageEnd;
    });
    expect(during.length).toBeGreaterThanOrEqual(8);
    const uptimes = beats.map((event) => Number(event.payload!.uptime_ms));
    const gaps = uptimes.slice(1).map((uptime, index) => uptime - uptimes[index]!);
    expect(Math.max(...gaps)).toBeLessThan(1_000);
    expect(await provider.status(sandboxId)).toBe('running');
  }, 90_000);
});
