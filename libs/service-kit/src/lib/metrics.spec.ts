import { metricLabelSets, metricValue } from '@sandbox-relay/testing';
import pino from 'pino';
import request from 'supertest';
import { Router } from 'express';
import { createHttpApp, finishHttpApp } from './http-app';
import { counter, metricsRegistry, sampledGauge } from './metrics';
import { Readiness } from './readiness';

const logger = pino({ level: 'silent' });

function buildApp() {
  const readiness = new Readiness(200);
  readiness.markReady();
  const app = createHttpApp({ logger, readiness });
  const router = Router();
  router.get('/things/:thingId', (req, res) => {
    res.json({ id: req.params.thingId });
  });
  app.use('/api', router);
  app.post('/boom', () => {
    throw new Error('boom');
  });
  return finishHttpApp(app);
}

async function scrape(app: ReturnType<typeof buildApp>): Promise<string> {
  const res = await request(app).get('/metrics');
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toContain('text/plain');
  return res.text;
}

describe('/metrics', () => {
  const app = buildApp();

  it('exposes the process metrics', async () => {
    const text = await scrape(app);
    expect(metricValue(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(metricValue(text, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
  });

  it('counts requests by route template and status, never by concrete path', async () => {
    const route = '/api/things/:thingId';
    const before =
      metricValue(await scrape(app), 'relay_http_requests_total', { route, status: '200', method: 'GET' }) ?? 0;
    for (const id of ['a1', 'b2', 'c3']) expect((await request(app).get(`/api/things/${id}`)).status).toBe(200);
    const text = await scrape(app);
    expect(metricValue(text, 'relay_http_requests_total', { route, status: '200', method: 'GET' })).toBe(before + 3);
    expect(
      metricValue(text, 'relay_http_request_duration_seconds_count', { route, status: '200' }),
    ).toBeGreaterThanOrEqual(3);
    const routes = metricLabelSets(text, 'relay_http_requests_total').map((labels) => labels['route']);
    expect(routes.some((value) => value?.includes('a1') || value?.includes('b2'))).toBe(false);
  });

  it('labels unknown paths `unmatched` and errors by their status', async () => {
    await request(app).get('/no/such/path/12345');
    await request(app).post('/boom');
    const text = await scrape(app);
    expect(
      metricValue(text, 'relay_http_requests_total', { route: 'unmatched', status: '404' }),
    ).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, 'relay_http_requests_total', { route: '/boom', status: '500', method: 'POST' })).toBe(1);
    expect(text).not.toContain('12345');
  });

  it('maps invented HTTP methods to `other`', async () => {
    await request(app).get('/api/things/x');
    const text = await scrape(app);
    const methods = new Set(metricLabelSets(text, 'relay_http_requests_total').map((labels) => labels['method']));
    for (const method of methods)
      expect(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'other']).toContain(method);
  });
});

describe('metric helpers', () => {
  it('returns the same metric when defined twice (a lib loaded by two services)', () => {
    const first = counter({ name: 'relay_test_defined_twice_total', help: 'test' });
    const second = counter({ name: 'relay_test_defined_twice_total', help: 'test' });
    expect(second).toBe(first);
  });

  it('sums a sampled gauge over its live sources and forgets removed ones', async () => {
    const depth = sampledGauge({ name: 'relay_test_depth', help: 'test' });
    const removeA = depth.add(() => 3);
    depth.add(async () => 4);
    depth.add(() => {
      throw new Error('source down');
    });
    expect(metricValue(await metricsRegistry.metrics(), 'relay_test_depth')).toBe(7);
    removeA();
    expect(metricValue(await metricsRegistry.metrics(), 'relay_test_depth')).toBe(4);
  });
});
