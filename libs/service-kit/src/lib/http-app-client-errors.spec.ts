import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import pino from 'pino';
import request from 'supertest';
import { createHttpApp, finishHttpApp, jsonBody } from './http-app';
import { Readiness } from './readiness';

/**
 * Regression (found by the fuzz suite, apps/e2e/src/fuzz): a path parameter with a malformed
 * percent-encoding and a body that does not inflate as its Content-Encoding says both reached the
 * error handler as plain errors carrying status 400, and were answered 500.
 */
describe('createHttpApp: client errors raised by express and body-parser', () => {
  const app = createHttpApp({ logger: pino({ level: 'silent' }), readiness: new Readiness(200) });
  app.post('/items/:id', jsonBody('1kb'), (req, res) => void res.json({ id: req.params.id, body: req.body }));
  app.get('/items/:id', (req, res) => void res.json({ id: req.params.id }));
  finishHttpApp(app);

  it.each(['%', '%zz', '%C0%AE', 'a%E0%A4%A'])(
    'answers 400 bad_request to a path parameter %s that does not decode',
    async (id) => {
      const res = await request(app).get(`/items/${id}`);
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'bad_request', message: 'malformed percent-encoding in the path' });
    },
  );

  it('answers 400 to a body that is not what its Content-Encoding says, and still inflates a real one', async () => {
    const bad = await request(app)
      .post('/items/a')
      .set('content-type', 'application/json')
      .set('content-encoding', 'gzip')
      .send('{}');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('bad_request');
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const good = await fetch(`http://127.0.0.1:${port}/items/a`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
        body: zlib.gzipSync('{"x":1}'),
      });
      expect(good.status).toBe(200);
      expect(await good.json()).toEqual({ id: 'a', body: { x: 1 } });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('still answers 500 to a real server error', async () => {
    const boom = createHttpApp({ logger: pino({ level: 'silent' }), readiness: new Readiness(200) });
    boom.get('/boom', () => {
      throw Object.assign(new Error('disk on fire'), { status: 503 });
    });
    finishHttpApp(boom);
    const res = await request(boom).get('/boom');
    expect(res.status).toBe(500);
    expect(res.body.error.code).toBe('internal');
  });
});
