import type { SandboxMessage } from '@sandbox-relay/contracts';
import { uniqueId, waitFor } from '@sandbox-relay/testing';
import { killSpawned, spawnApp } from './support/process';

const send = (http: string, sandbox: string, content: string) =>
  fetch(`${http}/api/v1/sandboxes/${sandbox}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ content, message_type: 'user_message' }),
  });

describe('services as processes', () => {
  afterEach(() => killSpawned());

  it('message-queue: a message acknowledged before a hard kill (SIGKILL) is delivered by the next process', async () => {
    const sandbox = uniqueId('sb-kill');
    const first = await spawnApp('message-queue');
    const res = await send(first.http, sandbox, 'acknowledged means durable');
    expect(res.status).toBe(200);
    const { message_id } = (await res.json()) as { message_id: string };
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');

    const second = await spawnApp('message-queue');
    try {
      const messages = (await (await fetch(`${second.http}/api/v1/sandboxes/${sandbox}/messages`)).json()) as SandboxMessage[];
      expect(messages.map((message) => [message.message_id, message.content])).toEqual([[message_id, 'acknowledged means durable']]);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });

  it('ingest: drains and exits 128+15 on SIGTERM, logging each shutdown step', async () => {
    const ingest = await spawnApp('ingest');
    // Readiness turns green once its Redis and Postgres connections are up (a probe polls it).
    await waitFor(async () => (await fetch(`${ingest.http}/readyz`)).status === 200, 'ingest to be ready', 10_000);
    ingest.child.kill('SIGTERM');
    const { code } = await ingest.exited;
    expect(code).toBe(143);
    expect(ingest.logs.some((line) => line.includes('"clean":true') && line.includes('shutdown complete'))).toBe(true);
  });

  it('fails fast with a readable message on bad configuration', async () => {
    await expect(spawnApp('gateway', { REDIS_URL: 'http://nope', WS_PING_INTERVAL_MS: 'soon' })).rejects.toThrow(
      /exited with 1 before listening:[\s\S]*invalid configuration:[\s\S]*REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL[\s\S]*WS_PING_INTERVAL_MS/,
    );
  });
});
