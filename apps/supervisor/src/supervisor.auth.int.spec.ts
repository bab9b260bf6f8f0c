import { EdgeAuth, generateRelayKey, publicOnly, type RelayJwk } from '@sandbox-relay/auth';
import type { TaskView } from '@sandbox-relay/contracts';
import { FakeSandboxProvider } from '@sandbox-relay/sandbox/testing';
import type { Store } from '@sandbox-relay/store';
import { testLogger } from '@sandbox-relay/testing';
import request from 'supertest';
import { SupervisorHarness, testSupervisorConfig } from './spec-support';
import { createSupervisorService } from './supervisor.service';

const logger = testLogger();

// The supervisor with auth on: its task edge is an operator's, and every worker it spawns carries a
// sandbox token scoped to exactly the sandbox it runs in.
describe('supervisor with auth on', () => {
  let store: Store;
  let auth: EdgeAuth;
  let key: RelayJwk;
  const infra = new SupervisorHarness('sup-auth-test', logger);
  const harness = () => infra.service(testSupervisorConfig(), undefined, { auth, sandboxTokenTtlS: 600 });
  const token = (kind: 'viewer' | 'operator') =>
    auth.issuer!.issue({ kind, sandboxes: '*' }, { subject: 'tester', ttlSeconds: 60 });

  beforeAll(async () => {
    await infra.open();
    ({ store } = infra);
    key = await generateRelayKey('eddsa', 'k1');
    auth = await EdgeAuth.fromSettings({ mode: 'on', keys: [key], maxTokenAgeS: 3600 });
  });
  afterAll(() => infra.close());

  it('lets operators start and stop tasks, viewers read them, and nobody else', async () => {
    const { app, provider } = harness();
    const body = { title: 'guarded', plan: [{ run: 'true' }] };
    expect((await request(app).post('/api/v1/tasks').send(body)).status).toBe(401);
    const viewer = await token('viewer');
    const refused = await request(app).post('/api/v1/tasks').set('authorization', `Bearer ${viewer}`).send(body);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('forbidden');
    const sandboxToken = await auth.issuer!.issueSandboxToken('sb-x', 60);
    expect(
      (await request(app).post('/api/v1/tasks').set('authorization', `Bearer ${sandboxToken}`).send(body)).status,
    ).toBe(403);
    expect(provider.spawned).toEqual([]);

    const operator = await token('operator');
    const started = await request(app).post('/api/v1/tasks').set('authorization', `Bearer ${operator}`).send(body);
    expect(started.status).toBe(201);
    const task = started.body as TaskView;
    expect((await request(app).get(`/api/v1/tasks/${task.id}`).set('authorization', `Bearer ${viewer}`)).status).toBe(
      200,
    );
    expect(
      (await request(app).get(`/api/v1/tasks/${task.id}`).set('authorization', `Bearer ${sandboxToken}`)).status,
    ).toBe(403);
    expect(
      (await request(app).post(`/api/v1/tasks/${task.id}/stop`).set('authorization', `Bearer ${viewer}`).send({}))
        .status,
    ).toBe(403);
    expect(
      (await request(app).post(`/api/v1/tasks/${task.id}/stop`).set('authorization', `Bearer ${operator}`).send({}))
        .status,
    ).toBe(200);
  });

  it('names the sandbox itself and hands its worker a token for exactly that sandbox, whatever worker_env says', async () => {
    const { app, provider } = harness();
    const operator = await token('operator');
    const res = await request(app)
      .post('/api/v1/tasks')
      .set('authorization', `Bearer ${operator}`)
      .send({
        title: 'token at spawn',
        plan: [{ run: 'true' }],
        worker_env: { RELAY_TOKEN: 'smuggled-operator-token' },
      });
    expect(res.status).toBe(201);
    const [spawned] = provider.spawned;
    expect(spawned!.spec.sandboxId).toMatch(/^local-[0-9a-f]{16}$/);
    expect(res.body.sandbox_id).toBe(spawned!.spec.sandboxId);
    const workerToken = spawned!.spec.env.RELAY_TOKEN!;
    expect(workerToken).not.toBe('smuggled-operator-token');
    // Verified with the public half only, as every edge service would.
    const verifier = await EdgeAuth.fromSettings({ mode: 'on', keys: [publicOnly(key)], maxTokenAgeS: 3600 });
    const principal = await verifier.authenticate(workerToken);
    expect(principal).toMatchObject({
      kind: 'sandbox',
      subject: res.body.sandbox_id,
      sandboxes: new Set([res.body.sandbox_id]),
    });
    expect(principal.expiresAt!.getTime() - Date.now()).toBeGreaterThan(590_000);
  });

  it("renews a live sandbox's token for that sandbox's own token only, and none once the sandbox is no longer live", async () => {
    const { app, provider } = harness();
    const operator = await token('operator');
    const task = (
      await request(app)
        .post('/api/v1/tasks')
        .set('authorization', `Bearer ${operator}`)
        .send({ title: 'renew', plan: [{ run: 'true' }] })
        .expect(201)
    ).body as TaskView;
    const sandboxId = task.sandbox_id!;
    const own = provider.spawned[0]!.spec.env.RELAY_TOKEN!;
    const renew = (bearer: string | null, id = sandboxId) => {
      const req = request(app).post(`/api/v1/sandboxes/${id}/token`);
      return bearer ? req.set('authorization', `Bearer ${bearer}`) : req;
    };

    const renewed = await renew(own);
    expect(renewed.status).toBe(200);
    expect(renewed.headers['cache-control']).toBe('no-store');
    expect(renewed.body).toEqual({ sandbox_id: sandboxId, token: expect.any(String), expires_at: expect.any(String) });
    expect(renewed.body.token).not.toBe(own);
    const principal = await auth.authenticate(renewed.body.token);
    expect(principal).toMatchObject({ kind: 'sandbox', sandboxes: new Set([sandboxId]) });
    expect(Math.abs(principal.expiresAt!.getTime() - Date.parse(renewed.body.expires_at))).toBeLessThan(2_000);
    // The fresh token renews in turn.
    expect((await renew(renewed.body.token)).status).toBe(200);

    // Nobody else: no token, another sandbox's, an operator's (operators mint with `npm run token`).
    expect((await renew(null)).status).toBe(401);
    expect((await renew(await auth.issuer!.issueSandboxToken('local-0000000000000000', 60))).status).toBe(403);
    expect((await renew(own, 'local-0000000000000000')).status).toBe(403);
    expect((await renew(operator)).status).toBe(403);

    // Stopped: the old worker's token runs out with it.
    await request(app)
      .post(`/api/v1/tasks/${task.id}/stop`)
      .set('authorization', `Bearer ${operator}`)
      .send({})
      .expect(200);
    const refused = await renew(own);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'sandbox_not_live', message: expect.stringContaining('stopped') });
  });

  it('answers 409 auth_off to a renewal when auth is off', async () => {
    const { app } = infra.service(testSupervisorConfig());
    const res = await request(app).post('/api/v1/sandboxes/local-0000000000000000/token');
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('auth_off');
  });

  it('refuses to start with auth on and no key that can sign', async () => {
    const ed = await generateRelayKey('eddsa', 'pub');
    const verifyOnly = await EdgeAuth.fromSettings({ mode: 'on', keys: [publicOnly(ed)], maxTokenAgeS: 3600 });
    expect(() =>
      createSupervisorService({
        store,
        publisherRedis: infra.redis,
        provider: new FakeSandboxProvider(),
        logger,
        config: testSupervisorConfig(),
        relayUrl: () => '',
        auth: verifyOnly,
      }),
    ).toThrow(/no key in AUTH_KEYS can sign/);
  });
});
