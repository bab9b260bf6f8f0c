import { WS_CLOSE_CODES } from '@sandbox-relay/contracts';
import { metricLabelSets, metricValue, uniqueId, waitFor } from '@sandbox-relay/testing';
import WebSocket from 'ws';
import { startRelay, type RunningRelay } from './support/relay';

/**
 * /metrics of the running relay (the standalone: every service's metrics on one registry) while real
 * clients use the edge: counters rise by what was done, gauges follow the sockets, labels stay bounded.
 */
describe('/metrics of the running relay', () => {
  let relay: RunningRelay;
  beforeAll(async () => {
    relay = await startRelay({ WS_MAX_BUFFERED_BYTES: '1024' });
  });
  afterAll(() => relay.stop());

  const scrape = async () => {
    const res = await fetch(`${relay.http}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    return res.text();
  };
  const value = (text: string, name: string, labels: Record<string, string> = {}) =>
    metricValue(text, name, labels) ?? 0;
  const open = (query: string) =>
    new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(`${relay.ws}/api/v1/events/ws/events?${query}`);
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });
  const post = (sandbox: string, body: unknown, path = 'events') =>
    fetch(`${relay.http}/api/v1/sandboxes/${sandbox}/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('counts ingested and published events, frames sent and open sockets, by bounded labels only', async () => {
    const sandbox = uniqueId('metrics-sb');
    const before = await scrape();
    const clients = await Promise.all([1, 2, 3].map(() => open(`entity_ids=${sandbox}`)));
    const frames: string[][] = clients.map(() => []);
    clients.forEach((ws, i) => ws.on('message', (data) => frames[i]!.push(String(data))));
    await waitFor(async () => value(await scrape(), 'relay_ws_clients_open') === 3, 'three open sockets', 10_000, 50);

    for (let i = 0; i < 5; i += 1)
      expect((await post(sandbox, { event_type: 'agent.message', event_data: { i } })).status).toBe(200);
    await waitFor(() => frames.every((received) => received.length === 5), 'five frames per client', 10_000, 20);

    const after = await scrape();
    expect(value(after, 'relay_events_ingested_total', { endpoint: 'single' })).toBe(
      value(before, 'relay_events_ingested_total', { endpoint: 'single' }) + 5,
    );
    expect(value(after, 'relay_events_published_total', { outcome: 'ok' })).toBeGreaterThanOrEqual(
      value(before, 'relay_events_published_total', { outcome: 'ok' }) + 5,
    );
    expect(value(after, 'relay_ws_frames_sent_total')).toBeGreaterThanOrEqual(
      value(before, 'relay_ws_frames_sent_total') + 15,
    );
    const route = '/api/v1/sandboxes/:sandboxId/events';
    expect(value(after, 'relay_http_requests_total', { route, method: 'POST', status: '200' })).toBe(
      value(before, 'relay_http_requests_total', { route, method: 'POST', status: '200' }) + 5,
    );
    expect(
      value(after, 'relay_http_request_duration_seconds_count', { route, method: 'POST', status: '200' }),
    ).toBeGreaterThanOrEqual(5);
    expect(value(after, 'process_resident_memory_bytes')).toBeGreaterThan(0);

    // No sandbox id anywhere, and every route label is a template.
    expect(after).not.toContain(sandbox);
    for (const labels of metricLabelSets(after, 'relay_http_requests_total'))
      expect(labels['route']).toMatch(/^(unmatched|\/[\w/:.-]*)$/);

    await Promise.all(clients.map((ws) => new Promise((resolve) => (ws.once('close', resolve), ws.close()))));
    await waitFor(async () => value(await scrape(), 'relay_ws_clients_open') === 0, 'no open sockets', 10_000, 50);
  });

  it('counts a slow consumer closed with 4008, and the frames it could not take', async () => {
    const sandbox = uniqueId('metrics-slow');
    const before = await scrape();
    const slow = await open(`entity_ids=${sandbox}`);
    const closed = new Promise<number>((resolve) => slow.once('close', (code) => resolve(code)));
    // Stop reading: the kernel buffers fill, then the gateway's send buffer passes its 1 KiB bound.
    (slow as unknown as { _socket: { pause(): void } })._socket.pause();
    const payload = 'x'.repeat(8_000);
    let code: number | undefined;
    void closed.then((value) => (code = value));
    for (let batch = 0; batch < 200 && code === undefined; batch += 1) {
      const body = Array.from({ length: 100 }, (_, i) => ({ event_type: 'agent.message', event_data: { i, payload } }));
      expect((await post(sandbox, body, 'events/batch')).status).toBe(200);
      const text = await scrape();
      if (
        value(text, 'relay_ws_slow_consumer_closes_total', { reason: 'send_buffer' }) >
        value(before, 'relay_ws_slow_consumer_closes_total', { reason: 'send_buffer' })
      )
        break;
    }
    const after = await scrape();
    expect(value(after, 'relay_ws_slow_consumer_closes_total', { reason: 'send_buffer' })).toBe(
      value(before, 'relay_ws_slow_consumer_closes_total', { reason: 'send_buffer' }) + 1,
    );
    expect(value(after, 'relay_ingest_batch_size_count')).toBeGreaterThan(
      value(before, 'relay_ingest_batch_size_count'),
    );
    // The rest of the batch that overflowed it found the client closing: dropped, not sent.
    expect(value(after, 'relay_ws_frames_dropped_total')).toBeGreaterThan(
      value(before, 'relay_ws_frames_dropped_total'),
    );
    (slow as unknown as { _socket: { resume(): void } })._socket.resume();
    expect(await closed).toBe(WS_CLOSE_CODES.SLOW_CONSUMER);
    await waitFor(async () => value(await scrape(), 'relay_ws_clients_open') === 0, 'the slow socket gone', 10_000, 50);
  });
});
