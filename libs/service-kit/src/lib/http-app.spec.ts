import { z } from 'zod';
import request from 'supertest';
import pino from 'pino';
import { ServiceUnavailableError } from './errors';
import { createHttpApp, finishHttpApp, jsonBody } from './http-app';
import { Readiness } from './readiness';
import { parseRequest, requireJsonBody } from './validate';

const logger = pino({ level: 'silent' });
const Body = z.object({ name: z.string().min(1), count: z.number().int() });

function buildApp(readiness = new Readiness(200)) {
  const app = createHttpApp({ logger, readiness, version: '1.2.3' });
  app.post('/items/:id', jsonBody('1kb'), (req, res) => {
    parseRequest(z.object({ id: z.string().regex(/^[a-z]+$/) }), req.params, 'params');
    const body = parseRequest(Body, requireJsonBody(req.body), 'body');
    res.json(body);
  });
  app.get('/boom', () => {
    throw new Error('secret internals');
  });
  app.get('/down', () => {
    throw new ServiceUnavailableError('the store is unavailable');
  });
  return finishHttpApp(app);
}

describe('createHttpApp', () => {
  const app = buildApp();

  it('answers malformed JSON with 400 and a JSON error', async () => {
    const res = await request(app).post('/items/abc').set('content-type', 'application/json').send('{"name": ');
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'malformed_json' });
    expect(res.body.error.requestId).toBe(res.headers['x-request-id']);
  });

  it('answers an oversize body with 413', async () => {
    const res = await request(app)
      .post('/items/abc')
      .send({ name: 'x'.repeat(2000), count: 1 });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
  });

  it('answers an invalid body with 422 naming every failing field', async () => {
    const res = await request(app).post('/items/abc').send({ name: '', count: 'x' });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.details.map((issue: { field: string }) => issue.field).sort()).toEqual([
      'body.count',
      'body.name',
    ]);
  });

  it('says a missing field "is required"', async () => {
    const res = await request(app).post('/items/abc').send({ count: 1 });
    expect(res.body.error.details).toEqual([{ field: 'body.name', message: 'is required' }]);
  });

  it('says what type a field of the wrong type should have, not that it is required', async () => {
    const res = await request(app)
      .post('/items/abc')
      .send({ name: ['a'], count: 1 });
    expect(res.body.error.details).toEqual([
      { field: 'body.name', message: 'Invalid input: expected string, received array' },
    ]);
  });

  it('answers a bad path parameter with 400', async () => {
    const res = await request(app).post('/items/ABC1').send({ name: 'a', count: 1 });
    expect(res.status).toBe(400);
    expect(res.body.error.details[0].field).toBe('params.id');
  });

  it('answers a body without JSON content type with 400', async () => {
    const res = await request(app).post('/items/abc').set('content-type', 'text/plain').send('name=a');
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/Content-Type: application\/json/);
  });

  it('hides internals of unexpected errors behind an errorId', async () => {
    const res = await request(app).get('/boom');
    expect(res.status).toBe(500);
    expect(JSON.stringify(res.body)).not.toContain('secret');
    expect(res.body.error.errorId).toMatch(/[0-9a-f-]{36}/);
  });

  it('passes 503 through for an unavailable dependency', async () => {
    const res = await request(app).get('/down');
    expect(res.status).toBe(503);
    expect(res.body.error).toMatchObject({ code: 'service_unavailable', message: 'the store is unavailable' });
  });

  it('answers JSON without an ETag: no answer body is hashed', async () => {
    const written = await request(app).post('/items/abc').send({ name: 'x', count: 1 });
    expect(written.status).toBe(200);
    expect(written.headers.etag).toBeUndefined();
    const read = await request(app).get('/healthz');
    expect(read.status).toBe(200);
    expect(read.headers.etag).toBeUndefined();
  });

  it('answers unknown routes with a JSON 404', async () => {
    const res = await request(app).get('/nope');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
  });

  it('never logs the value of a token query parameter (the original frontend puts its token in the WebSocket URL)', async () => {
    const lines: string[] = [];
    const capturing = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
    const logged = finishHttpApp(createHttpApp({ logger: capturing, readiness: new Readiness(200) }));
    await request(logged).get('/api/v1/ws/events?entity_ids=a&token=secret.jwt.value&since=5');
    await request(logged).get('/elsewhere?TOKEN=other-secret');
    expect(lines).toHaveLength(2);
    expect(lines.join('\n')).not.toMatch(/secret/);
    expect(JSON.parse(lines[0]!).url).toBe('/api/v1/ws/events?entity_ids=a&token=[redacted]&since=5');
  });

  it('keeps a well-formed incoming request id', async () => {
    const res = await request(app).get('/healthz').set('x-request-id', 'abc-123');
    expect(res.headers['x-request-id']).toBe('abc-123');
    expect(res.body).toEqual({ status: 'ok' });
  });
});

describe('/readyz', () => {
  it('is 503 while starting, 200 when ready and healthy, 503 when a check fails or while draining', async () => {
    let healthy = true;
    const readiness = new Readiness(200).add({
      name: 'postgres',
      check: async () => {
        if (!healthy) throw new Error('connect ECONNREFUSED');
      },
    });
    const app = buildApp(readiness);

    expect((await request(app).get('/readyz')).body).toMatchObject({ ready: false, status: 'starting' });
    readiness.markReady();
    const ok = await request(app).get('/readyz');
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ ready: true, version: '1.2.3', checks: { postgres: { ok: true } } });

    healthy = false;
    const down = await request(app).get('/readyz');
    expect(down.status).toBe(503);
    expect(down.body.checks.postgres).toMatchObject({ ok: false, error: 'connect ECONNREFUSED' });

    healthy = true;
    readiness.markDraining();
    expect((await request(app).get('/readyz')).body).toMatchObject({ ready: false, status: 'draining' });
  });

  it('times out a hanging check', async () => {
    const readiness = new Readiness(50).add({ name: 'redis', check: () => new Promise(() => undefined) });
    readiness.markReady();
    const res = await request(buildApp(readiness)).get('/readyz');
    expect(res.status).toBe(503);
    expect(res.body.checks.redis.error).toMatch(/timed out/);
  });
});
