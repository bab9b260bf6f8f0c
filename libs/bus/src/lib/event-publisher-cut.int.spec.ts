import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { OMOIOS_CHANNEL_PATTERN } from '@sandbox-relay/contracts';
import { testInfra, testLogger, uniqueId, waitFor } from '@sandbox-relay/testing';
import { EventPublisher, EventSubscriber, type ReceivedEvent } from './event-bus';
import { closeRedis, createRedisClient, type Redis } from './redis';
import { toolUseEnvelope } from './spec-support';

const logger = testLogger();
const { redisUrl } = testInfra();

/** Length of the complete RESP command (an array of bulk strings) at the start of `buffer`, or -1 if it is not all there yet. */
function commandLength(buffer: Buffer): number {
  const lineEnd = (from: number) => buffer.indexOf('\r\n', from);
  let end = lineEnd(0);
  if (end === -1) return -1;
  const count = Number(buffer.subarray(1, end).toString());
  let offset = end + 2;
  for (let item = 0; item < count; item += 1) {
    end = lineEnd(offset);
    if (end === -1) return -1;
    offset = end + 2 + Number(buffer.subarray(offset + 1, end).toString()) + 2;
    if (offset > buffer.length) return -1;
  }
  return offset;
}

/**
 * A TCP proxy to Redis that, once armed with `k`, lets only the next `k` commands of its open
 * connection through, passes their `k` replies back and then closes the client's side (with `k` = 0,
 * as soon as the next command arrives): a connection lost after Redis carried out (and answered) `k`
 * commands and before it saw the next. Connections opened later (ioredis reconnecting) pass everything.
 */
class CommandCuttingProxy {
  private readonly server: net.Server;
  private readonly open = new Set<{ cut?: number }>();

  constructor(target: { host: string; port: number }) {
    this.server = net.createServer((client) => {
      const upstream = net.connect(target.port, target.host);
      const state: { cut?: number } = {};
      this.open.add(state);
      let pending = Buffer.alloc(0);
      let forwarded = 0;
      let replies = 0;
      client.on('error', () => undefined);
      upstream.on('error', () => undefined);
      client.on('close', () => (this.open.delete(state), upstream.destroy()));
      upstream.on('close', () => client.destroy());
      client.on('data', (chunk) => {
        if (state.cut === undefined) return void upstream.write(chunk);
        pending = Buffer.concat([pending, chunk]);
        for (
          let length = commandLength(pending);
          length > 0 && forwarded < state.cut;
          length = commandLength(pending)
        ) {
          upstream.write(pending.subarray(0, length));
          pending = pending.subarray(length);
          forwarded += 1;
        }
        if (state.cut === 0) client.destroy();
      });
      // Once armed only the publish script's replies flow, one integer line each.
      upstream.on('data', (chunk) => {
        if (state.cut === undefined) return void client.write(chunk);
        replies += chunk.toString('latin1').split('\r\n').length - 1;
        client.write(chunk);
        if (replies >= state.cut) client.end();
      });
    });
  }

  /** The open connection passes `k` more commands, their replies, and is then closed. */
  arm(k: number): void {
    for (const state of this.open) state.cut = k;
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe('EventPublisher when its connection drops between commands', () => {
  let subscriberRedis: Redis;
  let publisherRedis: Redis;
  let proxy: CommandCuttingProxy;
  const received: ReceivedEvent[] = [];

  beforeAll(async () => {
    subscriberRedis = createRedisClient(redisUrl, { name: 'test', role: 'subscriber', logger });
    const subscriber = new EventSubscriber(subscriberRedis, logger);
    subscriber.onEvent((event) => received.push(event));
    await subscriber.start();
    const target = new URL(redisUrl);
    proxy = new CommandCuttingProxy({ host: target.hostname, port: Number(target.port || 6379) });
    const port = await proxy.listen();
    target.host = `127.0.0.1:${port}`;
    publisherRedis = createRedisClient(target.toString(), { name: 'test', role: 'publisher', logger });
  });
  afterAll(async () => {
    await Promise.all([subscriberRedis, publisherRedis].map(closeRedis));
    await proxy.close();
  });

  it('sends a command cut off before Redis saw it again on the new connection: every event reaches subscribers exactly once, in order', async () => {
    const sandbox = uniqueId('sb-cut');
    const publisher = new EventPublisher(publisherRedis, logger, { omoiosBus: false });
    await waitFor(() => publisherRedis.status === 'ready', 'the publisher to connect');
    proxy.arm(0);
    // The connection closes as the group's one command arrives; ioredis retries it once reconnected.
    expect(await publisher.publish(['1', '2', '3', '4', '5'].map((id) => toolUseEnvelope(sandbox, id)))).toBe(true);
    expect(publisher.backlogSize).toBe(0);
    void publisher.publish([toolUseEnvelope(sandbox, '6')]);
    const ids = () => received.filter((r) => r.event.entity_id === sandbox).map((r) => r.event.id);
    await waitFor(() => ids().includes('6'), 'the marker event');
    expect(ids()).toEqual(['1', '2', '3', '4', '5', '6']);
  });

  it("with the original's bus too: a group carried out is not published again, the one cut off is, on both channels", async () => {
    const sandbox = uniqueId('sb-cut-both');
    const omoios: Array<{ id: string; event_type: string; entity_id: string }> = [];
    const busRedis = createRedisClient(redisUrl, { name: 'test', role: 'subscriber', logger });
    busRedis.on('pmessage', (_pattern: string, _channel: string, raw: string) => {
      const message = JSON.parse(raw) as { id: string; event_type: string; entity_id: string };
      if (message.entity_id === sandbox) omoios.push(message);
    });
    try {
      await busRedis.psubscribe(OMOIOS_CHANNEL_PATTERN);
      const publisher = new EventPublisher(publisherRedis, logger);
      await waitFor(() => publisherRedis.status === 'ready', 'the publisher to connect');
      // The first group's command is carried out and answered; the connection closes before the second's.
      proxy.arm(1);
      expect(await publisher.publish(['1', '2'].map((id) => toolUseEnvelope(sandbox, id)))).toBe(true);
      expect(await publisher.publish(['3', '4', '5'].map((id) => toolUseEnvelope(sandbox, id)))).toBe(true);
      void publisher.publish([toolUseEnvelope(sandbox, '6')]);
      const ids = () => received.filter((r) => r.event.entity_id === sandbox).map((r) => r.event.id);
      await waitFor(
        () => ids().includes('6') && omoios.some((message) => message.id === '6'),
        'the marker event on both channels',
      );
      expect(ids()).toEqual(['1', '2', '3', '4', '5', '6']);
      expect(omoios.map((message) => message.id)).toEqual(['1', '2', '3', '4', '5', '6']);
      expect(new Set(omoios.map((message) => message.event_type))).toEqual(new Set(['SANDBOX_agent.tool_use']));
      expect(publisher.backlogSize).toBe(0);
    } finally {
      await closeRedis(busRedis);
    }
  });
});
