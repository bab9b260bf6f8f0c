import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { OMOIOS_CHANNEL_PATTERN, type EventEnvelope } from '@sandbox-relay/contracts';
import { testInfra, testLogger, uniqueId, waitFor } from '@sandbox-relay/testing';
import { EventPublisher, EventSubscriber, type ReceivedEvent } from './event-bus';
import { closeRedis, createRedisClient, type Redis } from './redis';

const logger = testLogger();
const { redisUrl } = testInfra();

function envelope(entityId: string, id: string): EventEnvelope {
  return {
    id,
    event_type: 'agent.tool_use',
    entity_type: 'sandbox',
    entity_id: entityId,
    payload: {},
    source: 'agent',
    timestamp: new Date().toISOString(),
  };
}

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
 * connection through, passes their `k` replies back and then closes the client's side: a connection
 * lost in the middle of a pipeline, after Redis carried out (and answered) its first `k` commands and
 * before it saw the rest. Connections opened later (ioredis reconnecting) pass everything.
 */
class PipelineCuttingProxy {
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
      });
      // Once armed only PUBLISH replies flow, one integer line each.
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

describe('EventPublisher when its connection drops in the middle of a pipeline', () => {
  let subscriberRedis: Redis;
  let publisherRedis: Redis;
  let proxy: PipelineCuttingProxy;
  const received: ReceivedEvent[] = [];

  beforeAll(async () => {
    subscriberRedis = createRedisClient(redisUrl, { name: 'test', role: 'subscriber', logger });
    const subscriber = new EventSubscriber(subscriberRedis, logger);
    subscriber.onEvent((event) => received.push(event));
    await subscriber.start();
    const target = new URL(redisUrl);
    proxy = new PipelineCuttingProxy({ host: target.hostname, port: Number(target.port || 6379) });
    const port = await proxy.listen();
    target.host = `127.0.0.1:${port}`;
    publisherRedis = createRedisClient(target.toString(), { name: 'test', role: 'publisher', logger });
  });
  afterAll(async () => {
    await Promise.all([subscriberRedis, publisherRedis].map(closeRedis));
    await proxy.close();
  });

  it('publishes again only what was not carried out: every event reaches subscribers exactly once', async () => {
    const sandbox = uniqueId('sb-cut');
    // One PUBLISH per event here (the relay's channel only); the next test cuts between an event's two.
    const publisher = new EventPublisher(publisherRedis, logger, { omoiosBus: false });
    await waitFor(() => publisherRedis.status === 'ready', 'the publisher to connect');
    proxy.arm(2);
    expect(await publisher.publish(['1', '2', '3', '4', '5'].map((id) => envelope(sandbox, id)))).toBe(false);
    expect(publisher.backlogSize).toBe(3);
    await waitFor(() => publisherRedis.status === 'ready', 'the publisher to reconnect');
    // Published behind whatever is held: once it arrives, every republished event has arrived too.
    void publisher.publish([envelope(sandbox, '6')]);
    const ids = () => received.filter((r) => r.event.entity_id === sandbox).map((r) => r.event.id);
    await waitFor(() => ids().includes('6'), 'the marker event');
    expect(ids()).toEqual(['1', '2', '3', '4', '5', '6']);
    expect(publisher.backlogSize).toBe(0);
  });

  it("with the original's bus too, a cut between an event's two messages publishes again only the one not carried out", async () => {
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
      // Event 1's two messages, then event 2's relay message: event 2 still owes its bus message.
      proxy.arm(3);
      expect(await publisher.publish(['1', '2', '3', '4', '5'].map((id) => envelope(sandbox, id)))).toBe(false);
      expect(publisher.backlogSize).toBe(4);
      await waitFor(() => publisherRedis.status === 'ready', 'the publisher to reconnect');
      void publisher.publish([envelope(sandbox, '6')]);
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
