/// <reference path="../../../libs/auth/src/lib/jose.d.ts" />
import { EdgeAuth, generateRelayKey, type TokenIssuer } from '@sandbox-relay/auth';
import {
  EventStream,
  RelayClient,
  RelayError,
  type EventEnvelope,
  type StreamState,
  type WebSocketConstructor,
} from '@sandbox-relay/client';
import { WS_CLOSE_CODES } from '@sandbox-relay/contracts';
import { uniqueId, waitFor } from '@sandbox-relay/testing';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { WebSocket as NodeWebSocket } from 'ws';
import { startRelay, type RunningRelay } from './support/relay';

/** `@sandbox-relay/client` against the whole relay with auth on: every call it offers, over real sockets. */
describe('@sandbox-relay/client against the running edge (auth on)', () => {
  let relay: RunningRelay;
  let issuer: TokenIssuer;
  let operator: string;

  beforeAll(async () => {
    // Tasks spawn real workers: the bundle first.
    expect(spawnSync(process.execPath, [path.resolve(__dirname, '../../../tools/build-worker.mjs')]).status).toBe(0);
    const keys = [await generateRelayKey('eddsa', 'k1')];
    relay = await startRelay({
      AUTH_MODE: 'on',
      AUTH_KEYS: JSON.stringify(keys),
      AUTH_SIGNING_KID: 'k1',
      QUEUE_PREFIX: uniqueId('client'),
      SUPERVISOR_HEARTBEAT_INTERVAL_MS: '500',
    });
    issuer = (await EdgeAuth.fromSettings({ mode: 'on', keys, signingKid: 'k1', maxTokenAgeS: 3600 })).issuer!;
    operator = await issuer.issue({ kind: 'operator', sandboxes: '*' }, { subject: 'client-e2e', ttlSeconds: 600 });
  });
  afterAll(() => relay.stop());

  it('posts events (single, batch) and pages the history both ways', async () => {
    const sandboxId = uniqueId('cli-ev');
    const worker = new RelayClient({ baseUrl: relay.http, token: await issuer.issueSandboxToken(sandboxId, 60) });
    const reader = new RelayClient({ baseUrl: relay.http, token: () => operator });

    const one = await worker.postEvent(sandboxId, { event_type: 'agent.message', event_data: { n: 0 } });
    expect(one).toMatchObject({ entity_id: sandboxId, event_type: 'agent.message', payload: { n: 0 } });
    const batch = await worker.postEvents(
      sandboxId,
      [1, 2, 3, 4].map((n) => ({ event_type: 'agent.message', event_data: { n } })),
    );
    expect(batch.count).toBe(4);
    const ids = [one.id, ...batch.ids];

    const ascending: string[] = [];
    for await (const page of reader.historyPages(sandboxId, { limit: 2 }))
      ascending.push(...page.events.map((event) => event.id));
    expect(ascending).toEqual(ids);
    const descending: string[] = [];
    for await (const page of reader.historyPages(sandboxId, { order: 'desc', limit: 2 }))
      descending.push(...page.events.map((event) => event.id));
    expect(descending).toEqual([...ids].reverse());
    expect((await reader.history(sandboxId, { after: ids[2], limit: 1 })).events.map((event) => event.id)).toEqual([
      ids[3],
    ]);
  });

  it("maps refusals to a RelayError with the status and the relay's error code", async () => {
    const sandboxId = uniqueId('cli-err');
    let unauthorized = 0;
    const anonymous = new RelayClient({ baseUrl: relay.http, onUnauthorized: () => (unauthorized += 1) });
    const refused = await anonymous.postEvent(sandboxId, { event_type: 'x' }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RelayError);
    expect(refused).toMatchObject({ status: 401, code: expect.any(String), retryable: false });
    expect(unauthorized).toBe(1);
    const ops = new RelayClient({ baseUrl: relay.http, token: operator });
    await expect(ops.getTask('00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({
      name: 'RelayError',
      status: 404,
      code: 'not_found',
    });
    const bad = (await ops.postEvent(sandboxId, { event_type: '' }).catch((error: unknown) => error)) as RelayError;
    expect(bad.status).toBe(403); // an operator never writes events
    const down = (await new RelayClient({ baseUrl: 'http://127.0.0.1:9' })
      .listSandboxes()
      .catch((error: unknown) => error)) as RelayError;
    expect(down).toMatchObject({ status: 0, code: 'network_error', retryable: true });
  });

  it('sends messages once per Idempotency-Key, drains them, and re-reads with since', async () => {
    const sandboxId = uniqueId('cli-msg');
    const ops = new RelayClient({ baseUrl: relay.http, token: operator });
    const worker = new RelayClient({ baseUrl: relay.http, token: await issuer.issueSandboxToken(sandboxId, 60) });
    const key = uniqueId('cli-key');
    const first = await ops.sendMessage(sandboxId, 'one', { idempotencyKey: key });
    const again = await ops.sendMessage(sandboxId, 'one', { idempotencyKey: key });
    expect(again).toMatchObject({ message_id: first.message_id, duplicate: true });
    const second = await ops.sendMessage(sandboxId, 'two', { messageType: 'system' });
    expect(second.duplicate).toBe(false);

    const drained = await worker.drainMessages(sandboxId);
    expect(drained.map((message) => [message.content, message.message_type])).toEqual([
      ['one', 'user_message'],
      ['two', 'system'],
    ]);
    expect(await worker.drainMessages(sandboxId)).toEqual([]);
    const reread = await worker.drainMessages(sandboxId, { since: first.message_id });
    expect(reread.map((message) => message.message_id)).toContain(second.message_id);
    expect(reread.map((message) => message.message_id)).not.toContain(first.message_id);
  });

  it('creates, reads and stops a task', async () => {
    const ops = new RelayClient({ baseUrl: relay.http, token: operator });
    const task = await ops.createTask({
      title: 'client e2e',
      plan: [{ say: 'from the client' }],
      worker_env: { POLL_INTERVAL_MS: '100' },
    });
    expect(task.sandbox_id).toEqual(expect.any(String));
    await waitFor(
      async () =>
        (await ops.history(task.sandbox_id!, { limit: 100 })).events.some(
          (event) => event.payload.content === 'from the client',
        ),
      "the worker's message",
      20_000,
    );
    expect((await ops.getTask(task.id)).id).toBe(task.id);
    expect((await ops.stopTask(task.id, 'client e2e done')).status).toBe('stopped');
  });

  it('streams with first-frame auth and resumes after a dropped socket: no gap, no duplicate', async () => {
    const sandboxId = uniqueId('cli-ws');
    const worker = new RelayClient({ baseUrl: relay.http, token: await issuer.issueSandboxToken(sandboxId, 60) });
    const sockets: NodeWebSocket[] = [];
    // The `ws` package, each socket kept so the test can drop it the way a network would.
    class Tracked extends NodeWebSocket {
      constructor(url: string) {
        super(url);
        sockets.push(this);
      }
    }
    const seen: EventEnvelope[] = [];
    const states: StreamState[] = [];
    const ops = new RelayClient({ baseUrl: relay.http, token: operator });
    const stream = ops.stream({
      entityIds: [sandboxId],
      since: '0',
      onEvent: (event) => seen.push(event),
      onState: (state) => states.push(state),
      backoffMs: { initial: 50, max: 200 },
      WebSocket: Tracked as unknown as WebSocketConstructor,
    });
    try {
      await waitFor(() => states.includes('live'), 'the stream to go live', 5_000, 20);
      const posted = (
        await worker.postEvents(
          sandboxId,
          [1, 2].map((n) => ({ event_type: 'agent.message', event_data: { n } })),
        )
      ).ids;
      await waitFor(() => seen.length === 2, 'the first two events', 5_000, 20);
      sockets[0]!.terminate();
      posted.push(
        ...(
          await worker.postEvents(
            sandboxId,
            [3, 4, 5].map((n) => ({ event_type: 'agent.message', event_data: { n } })),
          )
        ).ids,
      );
      await waitFor(() => seen.length >= 5 && sockets.length >= 2, 'the resumed stream', 10_000, 20);
      posted.push((await worker.postEvent(sandboxId, { event_type: 'agent.message', event_data: { n: 6 } })).id);
      await waitFor(() => seen.length >= 6, 'the live event after the resume', 5_000, 20);
      expect(seen.map((event) => event.id)).toEqual(posted);
      expect(stream.cursor).toBe(posted[5]);
    } finally {
      stream.close();
    }
  });

  it('stops on a refused credential and says so', async () => {
    const refusals: number[] = [];
    const stream = new EventStream({
      baseUrl: relay.http,
      token: 'not-a-token',
      since: '0',
      onEvent: () => undefined,
      onUnauthorized: (code) => refusals.push(code),
    });
    try {
      await waitFor(() => refusals.length > 0, 'the refusal', 5_000, 20);
      expect(refusals).toEqual([WS_CLOSE_CODES.UNAUTHENTICATED]);
    } finally {
      stream.close();
    }
  });
});
