import { EventRepository, createStore } from '@sandbox-relay/store';
import { testInfra, uniqueId, waitFor } from '@sandbox-relay/testing';
import WebSocket from 'ws';
import { INSPECT_NODE_OPTIONS, ProcessInspector, type ProcessMemory } from '../support/inspector';
import { NO_RATE_LIMITS } from '../support/load';
import { metricValue } from '../support/metrics';
import { PrivateRedis } from '../support/private-redis';
import { killSpawned, spawnApp, type RelayProcess } from '../support/process';

jest.setTimeout(180_000);

const EVENTS = 10_000;
const BATCH = 500;
/** Each event's payload; 10k of them (≈ 40 MiB) would show plainly if the gateway buffered them for the slow client. */
const PAYLOAD = 'x'.repeat(4 * 1024);
const BOUND_MIB = 16;

const mib = (bytes: number) => bytes / (1024 * 1024);
const retained = (memory: ProcessMemory) => memory.heapUsed + memory.external;

interface Reader {
  ws: WebSocket;
  frames: number;
  closeCode?: number;
}

async function connect(url: string): Promise<Reader> {
  const ws = new WebSocket(url);
  const reader: Reader = { ws, frames: 0 };
  ws.on('message', (data) => {
    if (!String(data).startsWith('{"type":"ping"')) reader.frames += 1;
  });
  ws.on('close', (code) => (reader.closeCode = code));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return reader;
}

describe('fault: a WebSocket client that stops reading', () => {
  let redis: PrivateRedis;
  let gateway: RelayProcess;
  let ingest: RelayProcess;
  let inspector: ProcessInspector;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    [gateway, ingest] = await Promise.all([
      spawnApp('gateway', {
        REDIS_URL: redis.url,
        WS_MAX_BUFFERED_BYTES: String(256 * 1024),
        NODE_OPTIONS: INSPECT_NODE_OPTIONS,
      }),
      spawnApp('ingest', { REDIS_URL: redis.url, ...NO_RATE_LIMITS }),
    ]);
    inspector = await ProcessInspector.attach(gateway);
  });
  afterAll(async () => {
    await inspector?.close();
    await killSpawned();
    await redis.stop();
  });

  async function publish(sandbox: string, count: number): Promise<void> {
    for (let sent = 0; sent < count; sent += BATCH) {
      const batch = Array.from({ length: Math.min(BATCH, count - sent) }, (_, i) => ({
        event_type: 'agent.message',
        event_data: { seq: sent + i, text: PAYLOAD },
      }));
      const res = await fetch(`${ingest.http}/api/v1/sandboxes/${sandbox}/events/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(batch),
      });
      expect(res.status).toBe(200);
    }
  }

  it(`is closed with 4008 while ${EVENTS} events are published, and the gateway's memory stays bounded`, async () => {
    const sandbox = uniqueId('sb-slow');
    const ws = `${gateway.http.replace(/^http/, 'ws')}/api/v1/events/ws/events?entity_ids=${sandbox}`;

    // Warm up (code paths, pools, buffers) with a reader that keeps up, then take the baseline.
    const warm = await connect(ws);
    await publish(sandbox, 1_000);
    await waitFor(() => warm.frames >= 1_000, 'the warm-up events', 60_000);
    const before = await inspector.memoryAfterGc();

    const slowClosesBefore = await metricValue(
      gateway.http,
      'relay_ws_slow_consumer_closes_total',
      'reason="send_buffer"',
    );
    const slow = await connect(ws);
    const socket = (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    await publish(sandbox, EVENTS);
    // A reader that keeps up gets everything: the gateway kept serving while it shed the slow one.
    await waitFor(() => warm.frames >= 1_000 + EVENTS, `all ${EVENTS} events at the reader that keeps up`, 120_000, 50);
    // The gateway closed the client that does not read with 4008 (slow consumer, send buffer over its bound) ...
    expect(await metricValue(gateway.http, 'relay_ws_slow_consumer_closes_total', 'reason="send_buffer"')).toBe(
      slowClosesBefore + 1,
    );
    expect(await metricValue(gateway.http, 'relay_ws_clients_open')).toBe(1);
    // ... and holds nothing for it: memory while it still has not read a byte of the last ~40 MiB.
    const during = await inspector.memoryAfterGc();

    socket.resume();
    await waitFor(() => slow.closeCode !== undefined, 'the slow client to see its socket closed', 30_000);
    // It sees 4008 if the close frame got through before the gateway cut the unread socket off, else 1006.
    expect([4008, 1006]).toContain(slow.closeCode);
    expect(slow.frames).toBeLessThan(EVENTS);
    const after = await inspector.memoryAfterGc();

    const growth = { during: mib(retained(during) - retained(before)), after: mib(retained(after) - retained(before)) };
    process.stdout.write(
      `[fault] slow client: retained heap+external before ${mib(retained(before)).toFixed(1)} MiB, ` +
        `growth while ${EVENTS} events passed it ${growth.during.toFixed(1)} MiB, after close ${growth.after.toFixed(1)} MiB; ` +
        `rss ${mib(before.rss).toFixed(0)} → ${mib(during.rss).toFixed(0)} → ${mib(after.rss).toFixed(0)} MiB; slow client got ${slow.frames} frames\n`,
    );
    expect(growth.during).toBeLessThan(BOUND_MIB);
    expect(growth.after).toBeLessThan(BOUND_MIB);
    warm.ws.terminate();
  });

  it('keeps a reader that keeps up when holes hold whole batches back (another writer between them)', async () => {
    // Another writer's events (never published on this gateway's Redis, as a replica's publish still on
    // its way) land between the batches: each batch is held behind a hole, then handed out at once. A
    // batch is 2 MiB against a 256 KiB send-buffer bound: without pacing it closed the reader as slow.
    const store = createStore({ databaseUrl: testInfra().databaseUrl });
    const other = new EventRepository(store.pool);
    const otherSandbox = uniqueId('sb-other-writer');
    let writing = true;
    const writer = (async () => {
      for (let n = 0; writing; n++) {
        const data = { n };
        await other.appendMany([
          {
            entityType: 'sandbox',
            entityId: otherSandbox,
            eventType: 'agent.tool_use',
            data,
            dataJson: JSON.stringify(data),
            source: 'agent',
          },
        ]);
      }
    })();
    try {
      const sandbox = uniqueId('sb-held');
      const closesBefore = await metricValue(
        gateway.http,
        'relay_ws_slow_consumer_closes_total',
        'reason="send_buffer"',
      );
      const reader = await connect(
        `${gateway.http.replace(/^http/, 'ws')}/api/v1/events/ws/events?entity_ids=${sandbox}`,
      );
      await publish(sandbox, 4 * BATCH);
      await waitFor(
        () => reader.frames >= 4 * BATCH || reader.closeCode !== undefined,
        'every event at the reader',
        60_000,
      );
      expect(reader.closeCode).toBeUndefined();
      expect(reader.frames).toBe(4 * BATCH);
      expect(await metricValue(gateway.http, 'relay_ws_slow_consumer_closes_total', 'reason="send_buffer"')).toBe(
        closesBefore,
      );
      // The holes were real: events came from the store and from behind them.
      expect(await metricValue(gateway.http, 'relay_gateway_sequenced_events_total', 'path="held"')).toBeGreaterThan(0);
      reader.ws.terminate();
    } finally {
      writing = false;
      await writer;
      await store.close();
    }
  });
});
