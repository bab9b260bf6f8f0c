import { Readiness, createHttpApp, finishHttpApp } from '@sandbox-relay/service-kit';
import { testLogger, waitFor } from '@sandbox-relay/testing';
import express from 'express';
import request from 'supertest';
import { EdgeAuth, principalOf, requireByMethod } from './edge-auth';
import { UnauthorizedError } from './errors';
import { generateRelayKey } from './keygen';
import { ACTIONS } from './permissions';

describe('EdgeAuth', () => {
  let auth: EdgeAuth;
  beforeAll(async () => {
    auth = await EdgeAuth.fromSettings({
      mode: 'on',
      keys: [await generateRelayKey('hs256', 'k1')],
      maxTokenAgeS: 3600,
    });
  });

  const app = () => {
    const logger = testLogger();
    const http = createHttpApp({ logger, readiness: new Readiness(100) });
    const router = express.Router();
    router.post(
      '/s/:sandboxId/events',
      auth.require(ACTIONS.EVENTS_WRITE, { sandboxParam: 'sandboxId' }),
      (_req, res) => void res.json(principalOf(res).subject),
    );
    // A guard naming a parameter its route does not have (a wiring mistake) must fail closed.
    router.post(
      '/unscoped/events',
      auth.require(ACTIONS.EVENTS_WRITE, { sandboxParam: 'sandboxId' }),
      (_req, res) => void res.json('open'),
    );
    router.use('/tasks', requireByMethod(auth, { read: ACTIONS.TASKS_READ, write: ACTIONS.TASKS_MANAGE }));
    router.all('/tasks', (req, res) => void res.json({ method: req.method }));
    http.use(router);
    return finishHttpApp(http);
  };

  it('answers 401 with a Bearer challenge for a missing or malformed header, 403 outside the scope', async () => {
    const missing = await request(app()).post('/s/a/events');
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="sandbox-relay"');
    expect(missing.body.error).toMatchObject({
      code: 'unauthenticated',
      message: expect.stringContaining('missing bearer token'),
    });
    const noPassword = await request(app())
      .post('/s/a/events')
      .set('authorization', `Basic ${Buffer.from('user').toString('base64')}`);
    expect(noPassword.status).toBe(401);
    expect(noPassword.body.error.message).toMatch(/malformed Authorization header/);
    const notAToken = await request(app()).post('/s/a/events').set('authorization', 'Basic dXNlcjpwYXNz');
    expect(notAToken.status).toBe(401);
    const token = await auth.issuer!.issueSandboxToken('a', 60);
    expect((await request(app()).post('/s/a/events').set('authorization', `Bearer ${token}`)).body).toBe('a');
    const other = await request(app()).post('/s/b/events').set('authorization', `Bearer ${token}`);
    expect(other.status).toBe(403);
    expect(other.headers['www-authenticate']).toBeUndefined();
  });

  it("takes Basic credentials whose password is the token (a callback URL's userinfo), with the same scope", async () => {
    const token = await auth.issuer!.issueSandboxToken('a', 60);
    const basic = (user: string) => `Basic ${Buffer.from(`${user}:${token}`).toString('base64')}`;
    expect((await request(app()).post('/s/a/events').set('authorization', basic('sandbox'))).body).toBe('a');
    expect((await request(app()).post('/s/a/events').set('authorization', basic(''))).body).toBe('a');
    expect((await request(app()).post('/s/b/events').set('authorization', basic('sandbox'))).status).toBe(403);
  });

  it('reads the scheme case-insensitively, and refuses on a route without the sandbox parameter it names', async () => {
    const token = await auth.issuer!.issueSandboxToken('a', 60);
    expect((await request(app()).post('/s/a/events').set('authorization', `bearer ${token}`)).body).toBe('a');
    const operator = await auth.issuer!.issue({ kind: 'operator', sandboxes: '*' }, { subject: 'op', ttlSeconds: 60 });
    for (const bearer of [token, operator]) {
      const unscoped = await request(app()).post('/unscoped/events').set('authorization', `Bearer ${bearer}`);
      expect(unscoped.status).toBe(403);
      expect(unscoped.body.error.message).toMatch(/names no sandbox/);
    }
  });

  it('guards a prefix by method: reads and writes need different actions', async () => {
    const viewer = await auth.issuer!.issue({ kind: 'viewer', sandboxes: '*' }, { subject: 'v', ttlSeconds: 60 });
    expect((await request(app()).get('/tasks').set('authorization', `Bearer ${viewer}`)).body).toEqual({
      method: 'GET',
    });
    expect((await request(app()).post('/tasks').set('authorization', `Bearer ${viewer}`)).status).toBe(403);
  });

  it('serves a verified token from memory, but never past its expiry', async () => {
    const token = await auth.issuer!.issue({ kind: 'viewer', sandboxes: '*' }, { subject: 'brief', ttlSeconds: 1 });
    const first = await auth.authenticate(token);
    expect(await auth.authenticate(token)).toBe(first);
    // Past `exp` (and jose's 5 s clock tolerance) the token is checked again, and refused.
    await waitFor(
      async () => (await auth.authenticate(token).catch((error: unknown) => error)) instanceof UnauthorizedError,
      'the expired token to be refused',
      15_000,
      250,
    );
  });

  it('lets everyone through as anonymous when off', async () => {
    const off = EdgeAuth.off();
    expect(off.enabled).toBe(false);
    await expect(off.authenticateHeader(undefined)).resolves.toMatchObject({ kind: 'anonymous', sandboxes: '*' });
  });
});
