import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { SandboxMessage } from '@sandbox-relay/contracts';
import { createStore, type Store } from '@sandbox-relay/store';
import { testInfra, uniqueId, waitFor, WsProbe } from '@sandbox-relay/testing';
import { ServerEventEmitter, postEvent, startRelay, type RunningRelay } from './support/relay';

const toolUse = {
  event_type: 'agent.tool_use',
  event_data: { tool: 'bash', input: { command: 'npm test' } },
  source: 'agent',
};

// Seed phase 6: the guardian steers sandbox agents through their message queue and local agents
// through their conversation directory.
describe('seed phase 6: guardian → agents', () => {
  let relay: RunningRelay;
  let store: Store;
  let emitter: ServerEventEmitter;
  beforeAll(async () => {
    relay = await startRelay({ GUARDIAN_LOOPING_AT: '3', GUARDIAN_COOLDOWN_MS: '60000' });
    store = createStore({ databaseUrl: testInfra().databaseUrl });
    emitter = new ServerEventEmitter();
  });
  afterAll(async () => {
    await emitter.close();
    await store.close();
    await relay.stop();
  });

  async function drain(sandbox: string): Promise<SandboxMessage[]> {
    return (await (await fetch(`${relay.http}/api/v1/sandboxes/${sandbox}/messages`)).json()) as SandboxMessage[];
  }

  it('test_task_model_has_sandbox_id', async () => {
    const task = await store.prisma.task.create({ data: { title: 'Test task' } });
    const updated = await store.prisma.task.update({ where: { id: task.id }, data: { sandboxId: 'sandbox-xyz-123' } });
    expect(updated.sandboxId).toBe('sandbox-xyz-123');
  });

  it('test_end_to_end_guardian_to_sandbox_message: a looping sandbox agent gets one guardian_intervention', async () => {
    const sandbox = uniqueId('guardian-test-sandbox');
    const task = await store.prisma.task.create({ data: { title: 'loop', sandboxId: sandbox, agentId: 'agent-456' } });
    const ws = await WsProbe.connect(
      `${relay.ws}/api/v1/events/ws/events?entity_ids=${sandbox}&event_types=GUARDIAN_INTERVENTION`,
    );
    for (let i = 0; i < 3; i += 1) expect((await postEvent(relay.http, sandbox, toolUse)).status).toBe(200);

    const messages = await waitFor(
      async () => {
        const drained = await drain(sandbox);
        return drained.length > 0 && drained;
      },
      'the guardian intervention to be queued',
      10_000,
    );
    expect(messages).toHaveLength(1);
    expect(messages[0]!.message_type).toBe('guardian_intervention');
    expect(messages[0]!.content).toMatch(/bash/);
    expect(messages[0]!.content).toMatch(/3 times/);

    const [event] = await ws.events(1);
    expect(event!.payload).toMatchObject({ task_id: task.id, detector: 'looping', routed: 'sandbox' });

    // More of the same inside the cooldown window: no flood.
    for (let i = 0; i < 3; i += 1) await postEvent(relay.http, sandbox, toolUse);
    const witness = await postEvent(relay.http, sandbox, {
      event_type: 'agent.message',
      event_data: { text: 'done looping' },
    });
    expect(witness.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await drain(sandbox)).toEqual([]);
    expect(ws.frames).toHaveLength(1);
    await ws.close();
  });

  it('steers a local (non-sandbox) agent through its conversation directory', async () => {
    const conversationDir = await mkdtemp(path.join(os.tmpdir(), 'relay-conversation-'));
    const task = await store.prisma.task.create({ data: { title: 'local', conversationDir, agentId: 'agent-789' } });
    for (let i = 0; i < 3; i += 1) {
      await emitter.emit({
        event_type: 'agent.tool_use',
        entity_type: 'task',
        entity_id: task.id,
        payload: toolUse.event_data,
      });
    }
    const file = path.join(conversationDir, 'interventions.jsonl');
    const text = await waitFor(() => readFile(file, 'utf8').catch(() => ''), 'the intervention line', 10_000);
    const lines = text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ type: 'guardian_intervention', task_id: task.id });
    expect(String(lines[0]!.content)).toMatch(/bash/);
  });
});
