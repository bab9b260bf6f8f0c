import { closeRedis, createRedisClient, type Redis } from '@sandbox-relay/bus';
import { Readiness, createHttpApp, finishHttpApp } from '@sandbox-relay/service-kit';
import { createStore, type Store } from '@sandbox-relay/store';
import { metricLabelSets, metricValue, testInfra, testLogger, uniqueId } from '@sandbox-relay/testing';
import type { Express } from 'express';
import request from 'supertest';
import { createIngestService, type IngestService } from './ingest.service';

const logger = testLogger();

describe('ingest /metrics', () => {
  let app: Express;
  let store: Store;
  let redis: Redis;
  let ingest: IngestService;

  beforeAll(() => {
    store = createStore({ databaseUrl: testInfra().databaseUrl });
    redis = createRedisClient(testInfra().redisUrl, { name: 'ingest-metrics-test', role: 'publisher', logger });
    const readiness = new Readiness(500);
    ingest = createIngestService({
      store,
      publisherRedis: redis,
      logger,
      config: { eventBodyLimit: '1mb', batchBodyLimit: '16mb', groupCommitMaxEvents: 1000 },
    });
    app = createHttpApp({ logger, readiness });
    app.use(ingest.router);
    finishHttpApp(app);
    readiness.markReady();
  });
  afterAll(async () => {
    await ingest.drain();
    await closeRedis(redis);
    await store.close();
  });

  const scrape = async () => (await request(app).get('/metrics').expect(200)).text;

  it('counts an accepted single POST and a batch, by endpoint, with the batch size', async () => {
    const sandbox = uniqueId('sb');
    const before = await scrape();
    const single = metricValue(before, 'relay_events_ingested_total', { endpoint: 'single' }) ?? 0;
    const batched = metricValue(before, 'relay_events_ingested_total', { endpoint: 'batch' }) ?? 0;
    const batches = metricValue(before, 'relay_ingest_batch_size_count') ?? 0;
    const route = '/api/v1/sandboxes/:sandboxId/events';
    const requests = metricValue(before, 'relay_http_requests_total', { route, method: 'POST', status: '200' }) ?? 0;

    await request(app).post(`/api/v1/sandboxes/${sandbox}/events`).send({ event_type: 'agent.started' }).expect(200);
    const body = Array.from({ length: 5 }, (_, i) => ({ event_type: 'agent.message', event_data: { i } }));
    await request(app).post(`/api/v1/sandboxes/${sandbox}/events/batch`).send(body).expect(200);
    // Refused input is not counted as ingested.
    await request(app).post(`/api/v1/sandboxes/${sandbox}/events`).send({ event_data: {} }).expect(422);

    const after = await scrape();
    // Two appends committed (the refused POST never reached the log), in one or two statements.
    const appends = metricValue(before, 'relay_event_log_append_seconds_count') ?? 0;
    const statements = metricValue(before, 'relay_event_log_statement_seconds_count') ?? 0;
    expect(metricValue(after, 'relay_event_log_append_seconds_count')).toBe(appends + 2);
    expect(metricValue(after, 'relay_event_log_statement_seconds_count')).toBeGreaterThanOrEqual(statements + 1);
    expect(metricValue(after, 'relay_event_log_statement_seconds_count')).toBeLessThanOrEqual(statements + 2);
    expect(metricValue(after, 'relay_event_log_append_seconds_sum')).toBeGreaterThan(
      metricValue(before, 'relay_event_log_append_seconds_sum') ?? 0,
    );
    expect(metricValue(after, 'relay_events_ingested_total', { endpoint: 'single' })).toBe(single + 1);
    expect(metricValue(after, 'relay_events_ingested_total', { endpoint: 'batch' })).toBe(batched + 5);
    expect(metricValue(after, 'relay_ingest_batch_size_count')).toBe(batches + 1);
    expect(metricValue(after, 'relay_ingest_batch_size_bucket', { le: '5' })).toBeGreaterThanOrEqual(1);
    expect(metricValue(after, 'relay_http_requests_total', { route, method: 'POST', status: '200' })).toBe(
      requests + 1,
    );
    expect(
      metricValue(after, 'relay_http_requests_total', { route, method: 'POST', status: '422' }),
    ).toBeGreaterThanOrEqual(1);
    // Published after commit; the queue is empty again once the appends are answered.
    expect(metricValue(after, 'relay_events_published_total', { outcome: 'ok' })).toBeGreaterThanOrEqual(6);
    expect(metricValue(after, 'relay_event_log_queued_events')).toBe(0);
  });

  it('never labels a metric with a sandbox id', async () => {
    const sandbox = uniqueId('never-a-label');
    await request(app).post(`/api/v1/sandboxes/${sandbox}/events`).send({ event_type: 'agent.started' }).expect(200);
    await request(app).get(`/api/v1/sandboxes/${sandbox}/events`).expect(200);
    const text = await scrape();
    expect(text).not.toContain(sandbox);
    const routes = new Set(metricLabelSets(text, 'relay_http_requests_total').map((labels) => labels['route']));
    expect(routes).toContain('/api/v1/sandboxes/:sandboxId/events');
  });
});
