import { FakeAnthropicServer, lastUserText, testLogger, uniqueId, waitFor } from '@sandbox-relay/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RelayClient } from './relay/relay-client';
import { runWorker } from './run-worker';
import { FakeRelayServer } from './spec-support/fake-relay-server';
import type { EmittedEvent } from './spec-support/memory-relay';
import { parseWorkerEnv } from './worker-env';

/** The real client, recording every event the worker handed it, to compare with what the relay stored. */
class RecordingRelayClient extends RelayClient {
  readonly emitted: EmittedEvent[] = [];
  override emit(eventType: string, data: Record<string, unknown>, source: string): void {
    this.emitted.push({ event_type: eventType, event_data: data, source });
    super.emit(eventType, data, source);
  }
}

describe('runWorker against a real HTTP relay', () => {
  let server: FakeRelayServer;
  let workspace: string;

  beforeEach(async () => {
    server = new FakeRelayServer(uniqueId('sbx'));
    await server.start();
    workspace = mkdtempSync(path.join(tmpdir(), 'worker-int-'));
  });

  afterEach(async () => {
    await server.stop();
    rmSync(workspace, { recursive: true, force: true });
  });

  // Interrupted after Claude Code received part of an answer, and before it received any: in the
  // second case it keeps no assistant message and merges the consecutive user messages into one.
  it.each([
    ['after part of the answer streamed', 'Working on it'],
    ['before any of the answer streamed', ''],
  ])('runs AGENT=claude through the real SDK: an interrupt %s, then a user message', async (_when, partial) => {
    const anthropic = new FakeAnthropicServer();
    await anthropic.start();
    const home = mkdtempSync(path.join(tmpdir(), 'worker-int-home-'));
    const stop = new AbortController();
    let running: Promise<unknown> | undefined;
    try {
      // The follow-up request may carry the first task's text too (merged user messages): match the newest.
      anthropic.respond = (request) =>
        lastUserText(request).includes('follow-up') ? { text: 'Done with the follow-up.' } : { hang: partial };
      const config = parseWorkerEnv({
        RELAY_URL: server.url,
        SANDBOX_ID: server.sandboxId,
        TASK_ID: 'task-claude',
        WORKSPACE_DIR: workspace,
        AGENT: 'claude',
        ANTHROPIC_API_KEY: 'sk-ant-test',
        ANTHROPIC_BASE_URL: anthropic.url,
        TASK_PROMPT: 'The first task.',
        POLL_INTERVAL_MS: '20',
        KILL_GRACE_MS: '2000',
      });
      running = runWorker(config, {
        logger: testLogger(),
        commandEnv: { PATH: process.env.PATH, HOME: home },
        stopSignal: stop.signal,
      });
      const storedTypes = () => server.events.map((event) => event.event_type).filter((type) => type !== 'heartbeat');

      await anthropic.waitForHang();
      server.queueMessage('interrupt', 'enough');
      await waitFor(() => storedTypes().includes('agent.waiting'), 'the interrupt to be obeyed');
      server.queueMessage('user_message', 'Now the follow-up.');
      await waitFor(
        () => storedTypes().filter((type) => type === 'agent.waiting').length === 2,
        'the follow-up turn to end',
      );
      stop.abort();
      await expect(running).resolves.toEqual({ reason: 'stopped', flushed: true });

      // Text Claude Code had already received when interrupted may come as a partial assistant message.
      const messages = server.events
        .filter((event) => event.event_type === 'agent.message')
        .map((event) => event.event_data['content']);
      expect(messages.filter((content) => content !== partial)).toEqual(['Done with the follow-up.']);
      expect(storedTypes().filter((type) => type !== 'agent.message')).toEqual([
        'agent.started',
        'agent.interrupted',
        'agent.waiting',
        'agent.waiting',
      ]);
      expect(storedTypes().at(-2)).toBe('agent.message');
      expect(server.events.find((event) => event.event_type === 'agent.started')?.event_data).toMatchObject({
        agent: 'claude',
      });
    } finally {
      // A failed expectation must not leave the worker and its Claude Code process running (jest would never exit).
      stop.abort();
      await running?.catch(() => undefined);
      await anthropic.close();
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('obeys an interrupt and a follow-up plan, and loses no event while the relay is down', async () => {
    const config = parseWorkerEnv({
      RELAY_URL: server.url,
      SANDBOX_ID: server.sandboxId,
      TASK_ID: 'task-int',
      WORKSPACE_DIR: workspace,
      TASK_PLAN: JSON.stringify([{ say: 'starting' }, { run: 'sleep 30' }]),
      POLL_INTERVAL_MS: '20',
      HEARTBEAT_INTERVAL_MS: '25',
      KILL_GRACE_MS: '200',
    });
    const relay = new RecordingRelayClient({
      baseUrl: config.RELAY_URL,
      sandboxId: config.SANDBOX_ID,
      logger: testLogger(),
      outbox: { backoffBaseMs: 5, backoffCapMs: 50 },
    });
    const stop = new AbortController();
    const running = runWorker(config, {
      logger: testLogger(),
      relay,
      commandEnv: { PATH: process.env.PATH },
      stopSignal: stop.signal,
    });
    const storedTypes = () => server.events.map((event) => event.event_type);

    await waitFor(() => storedTypes().includes('agent.tool_use'), 'the long command to start');
    await server.stop();
    // Heartbeats keep coming while the relay is away; they must all arrive later, in order.
    await waitFor(() => relay.stats().queued >= 3, 'a backlog of heartbeats');
    server.queueMessage('interrupt', 'stop the sleep');
    await server.start();
    await waitFor(() => storedTypes().includes('agent.waiting'), 'the interrupt to be obeyed');
    server.queueMessage('user_message', JSON.stringify([{ write: { path: 'out.txt', content: 'ok\n' } }]));
    await waitFor(() => storedTypes().includes('agent.file_edited'), 'the follow-up turn');

    stop.abort();
    await expect(running).resolves.toEqual({ reason: 'stopped', flushed: true });
    expect(server.events).toEqual(relay.emitted);
    expect(storedTypes().filter((type) => type !== 'heartbeat')).toEqual([
      'agent.started',
      'agent.message',
      'agent.tool_use',
      'agent.tool_completed',
      'agent.interrupted',
      'agent.waiting',
      'agent.file_edited',
      'agent.waiting',
    ]);
    expect(server.requests.some((request) => request.path.endsWith('/events/batch') && request.status === 200)).toBe(
      true,
    );
  });

  it('on SIGTERM flushes and returns without waiting for a message poll the relay sits on', async () => {
    const config = parseWorkerEnv({
      RELAY_URL: server.url,
      SANDBOX_ID: server.sandboxId,
      TASK_ID: 'task-held',
      WORKSPACE_DIR: workspace,
      TASK_PLAN: JSON.stringify([{ run: 'sleep 30' }]),
      POLL_INTERVAL_MS: '20',
      KILL_GRACE_MS: '200',
    });
    // A poll deadline far beyond any stop grace: only the stop itself may end the wait.
    const relay = new RelayClient({
      baseUrl: config.RELAY_URL,
      sandboxId: config.SANDBOX_ID,
      logger: testLogger(),
      messagesTimeoutMs: 600_000,
    });
    const stop = new AbortController();
    const running = runWorker(config, {
      logger: testLogger(),
      relay,
      commandEnv: { PATH: process.env.PATH },
      stopSignal: stop.signal,
    });
    try {
      await waitFor(() => server.eventsOfType('agent.tool_use').length === 1, 'the long command to start');
      server.holdDrains = true;
      await waitFor(() => server.held === 1, 'a message poll to be held');

      stop.abort();
      await expect(running).resolves.toEqual({ reason: 'stopped', flushed: true });
      expect(server.held).toBe(1);
      expect(server.eventsOfType('agent.tool_completed').map((event) => event.event_data)).toEqual([
        expect.objectContaining({ interrupted: true }),
      ]);
      expect(server.eventsOfType('heartbeat').at(-1)?.event_data).toMatchObject({ status: 'stopping' });
    } finally {
      stop.abort();
      server.holdDrains = false;
    }
  });
});
