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
      const messages = (await (
        await fetch(`${second.http}/api/v1/sandboxes/${sandbox}/messages`)
      ).json()) as SandboxMessage[];
      expect(messages.map((message) => [message.message_id, message.content])).toEqual([
        [message_id, 'acknowledged means durable'],
      ]);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });

  it.each(['ingest', 'gateway', 'message-queue', 'guardian'])(
    '%s: turns ready, then drains and exits 128+15 on SIGTERM',
    async (app) => {
      const service = await spawnApp(app);
      // Readiness turns green once its Redis and Postgres connections are up (a probe polls it).
      await waitFor(async () => (await fetch(`${service.http}/readyz`)).status === 200, `${app} to be ready`, 10_000);
      expect((await fetch(`${service.http}/healthz`)).status).toBe(200);
      service.child.kill('SIGTERM');
      const { code } = await service.exited;
      expect(code).toBe(143);
      expect(service.logs.some((line) => line.includes('"clean":true') && line.includes('shutdown complete'))).toBe(
        true,
      );
    },
  );

  it('fails fast with a readable message on bad configuration', async () => {
    await expect(spawnApp('gateway', { REDIS_URL: 'http://nope', WS_PING_INTERVAL_MS: 'soon' })).rejects.toThrow(
      /exited with 1 before listening:[\s\S]*invalid configuration:[\s\S]*REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL[\s\S]*WS_PING_INTERVAL_MS/,
    );
  });
});
