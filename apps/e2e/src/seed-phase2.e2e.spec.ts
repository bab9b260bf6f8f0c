import type { SandboxMessage } from '@sandbox-relay/contracts';
import { uniqueId, WsProbe } from '@sandbox-relay/testing';
import { startRelay, type RunningRelay } from './support/relay';

async function postMessage(http: string, sandbox: string, body: object) {
  const res = await fetch(`${http}/api/v1/sandboxes/${sandbox}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

async function getMessages(http: string, sandbox: string): Promise<SandboxMessage[]> {
  const res = await fetch(`${http}/api/v1/sandboxes/${sandbox}/messages`);
  expect(res.status).toBe(200);
  return (await res.json()) as SandboxMessage[];
}

// Seed phase 2: people and services send messages to running agents.
describe('seed phase 2: message injection', () => {
  let relay: RunningRelay;
  beforeAll(async () => {
    relay = await startRelay();
  });
  afterAll(() => relay.stop());

  it('test_message_queue_roundtrip', async () => {
    const sandbox = uniqueId('test-message-queue');
    const res = await postMessage(relay.http, sandbox, {
      content: 'Please focus on the authentication module first.',
      message_type: 'user_message',
    });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('queued');
    const messages = await getMessages(relay.http, sandbox);
    expect(messages).toHaveLength(1);
    expect(messages[0]!.content).toBe('Please focus on the authentication module first.');
    expect(messages[0]!.message_type).toBe('user_message');
    expect(await getMessages(relay.http, sandbox)).toEqual([]);
  });

  it('test_message_queue_fifo_order', async () => {
    const sandbox = uniqueId('test-message-fifo');
    for (let i = 0; i < 3; i += 1)
      await postMessage(relay.http, sandbox, { content: `Message ${i}`, message_type: 'user_message' });
    const messages = await getMessages(relay.http, sandbox);
    expect(messages.map((message) => message.content)).toEqual(['Message 0', 'Message 1', 'Message 2']);
  });

  it('test_interrupt_message_type', async () => {
    const sandbox = uniqueId('test-interrupt');
    expect((await postMessage(relay.http, sandbox, { content: 'STOP', message_type: 'interrupt' })).status).toBe(200);
    const messages = await getMessages(relay.http, sandbox);
    expect(messages[0]!.message_type).toBe('interrupt');
  });

  it('test_message_queued_event_broadcast', async () => {
    const sandbox = uniqueId('test-message-event');
    const ws = await WsProbe.connect(`${relay.ws}/api/v1/events/ws/events?entity_types=sandbox&entity_ids=${sandbox}`);
    const res = await postMessage(relay.http, sandbox, { content: 'Test', message_type: 'user_message' });
    const [event] = await ws.events(1, 3_000);
    expect(event!.event_type).toContain('MESSAGE_QUEUED');
    expect(event).toMatchObject({
      entity_type: 'sandbox',
      entity_id: sandbox,
      payload: { message_id: res.body.message_id, message_type: 'user_message', content_preview: 'Test' },
    });
    await ws.close();
  });

  it('rejects empty content and unknown types with 422 naming the field', async () => {
    const empty = await postMessage(relay.http, 'sb-1', { content: '', message_type: 'user_message' });
    expect(empty.status).toBe(422);
    expect(empty.body.error.details[0].field).toBe('body.content');
    const unknown = await postMessage(relay.http, 'sb-1', { content: 'x', message_type: 'yell' });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error.details[0].field).toBe('body.message_type');
  });
});

describe('messages survive a restart of the service', () => {
  it('a message queued before the relay stops is delivered after it starts again', async () => {
    const sandbox = uniqueId('sb-restart');
    const first = await startRelay();
    const queued = await postMessage(first.http, sandbox, { content: 'survive me', message_type: 'user_message' });
    expect(queued.status).toBe(200);
    await first.stop();

    const second = await startRelay();
    try {
      const messages = await getMessages(second.http, sandbox);
      expect(messages.map((message) => [message.message_id, message.content])).toEqual([
        [queued.body.message_id, 'survive me'],
      ]);
    } finally {
      await second.stop();
    }
  });
});
