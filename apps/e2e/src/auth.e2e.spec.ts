/// <reference path="../../../libs/auth/src/lib/jose.d.ts" />
import { EdgeAuth, TokenIssuer, generateRelayKey, type RelayJwk } from '@sandbox-relay/auth';
import { SANDBOX_LIST_LIMITS, WS_CLOSE_CODES, type TokenClaims } from '@sandbox-relay/contracts';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { SignJWT, importJWK } from 'jose';
import { uniqueId, waitFor, WsProbe, type ProbeFrame } from '@sandbox-relay/testing';
import { startRelay, type RunningRelay } from './support/relay';

/** The relay as deployed: auth on, one HS256 and one EdDSA key, tokens signed with the EdDSA one. */
async function authKeys(): Promise<{ keys: RelayJwk[]; env: Record<string, string> }> {
  const keys = [await generateRelayKey('hs256', 'old'), await generateRelayKey('eddsa', 'current')];
  return { keys, env: { AUTH_MODE: 'on', AUTH_KEYS: JSON.stringify(keys), AUTH_SIGNING_KID: 'current' } };
}

async function issuerFor(keys: RelayJwk[], kid: string): Promise<TokenIssuer> {
  const auth = await EdgeAuth.fromSettings({ mode: 'on', keys, signingKid: kid, maxTokenAgeS: 3600 });
  return auth.issuer!;
}

interface Answer {
  status: number;
  body: any;
  headers: Headers;
}

async function call(base: string, method: string, path: string, token?: string, body?: unknown): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

const A = uniqueId('sba');
const B = uniqueId('sbb');
const NO_TASK = '00000000-0000-4000-8000-000000000000';

/** Every edge route, on sandbox A. */
const ROUTES = {
  'POST events': [
    'POST',
    `/api/v1/sandboxes/${A}/events`,
    { event_type: 'agent.message', event_data: { content: 'hi' } },
  ],
  'POST events/batch': ['POST', `/api/v1/sandboxes/${A}/events/batch`, [{ event_type: 'agent.message' }]],
  'GET events': ['GET', `/api/v1/sandboxes/${A}/events`, undefined],
  'POST messages': ['POST', `/api/v1/sandboxes/${A}/messages`, { message_type: 'user_message', content: 'next' }],
  'GET messages': ['GET', `/api/v1/sandboxes/${A}/messages`, undefined],
  // The dashboard's read API (gateway).
  'GET sandboxes': ['GET', '/api/v1/sandboxes', undefined],
  'GET sandboxes/A': ['GET', `/api/v1/sandboxes/${A}`, undefined],
  // The task edge (supervisor). Bodies that pass auth fail validation, so the matrix spawns nothing.
  'POST tasks': ['POST', '/api/v1/tasks', {}],
  'GET tasks/:id': ['GET', `/api/v1/tasks/${NO_TASK}`, undefined],
  'POST tasks/:id/stop': ['POST', `/api/v1/tasks/${NO_TASK}/stop`, {}],
  // A worker renewing its token (supervisor; A is no session of it, so past auth: 409 sandbox_not_live).
  'POST sandboxes/A/token': ['POST', `/api/v1/sandboxes/${A}/token`, undefined],
  // The original's task callbacks (supervisor; A has no task: past auth the read is 404, the empty report 422).
  'GET sandboxes/A/task': ['GET', `/api/v1/sandboxes/${A}/task`, undefined],
  'POST sandboxes/A/task-complete': ['POST', `/api/v1/sandboxes/${A}/task-complete`, {}],
  // The branch workflow (no GitHub configured here: past auth it answers 422 or 503).
  'POST tickets/branch': ['POST', '/api/v1/tickets/T-1/branch', {}],
  'POST tickets/pull-request': ['POST', '/api/v1/tickets/T-1/pull-request', {}],
  'POST tickets/merge': ['POST', '/api/v1/tickets/T-1/merge', {}],
  'GET tickets/branch': ['GET', '/api/v1/tickets/T-1/branch', undefined],
  // The original system's branch workflow edge, guarded with the ticket routes (bodies fail validation: 422).
  'POST branch-workflow/start': ['POST', '/api/v1/branch-workflow/start', {}],
  'POST branch-workflow/finish': ['POST', '/api/v1/branch-workflow/finish', {}],
  'POST branch-workflow/merge': ['POST', '/api/v1/branch-workflow/merge', {}],
  'POST branch-workflow/status': ['POST', '/api/v1/branch-workflow/status', {}],
  // The original's trajectory read (ingest), scoped like history.
  'GET trajectory': ['GET', `/api/v1/sandboxes/${A}/trajectory`, undefined],
} as const;
type Route = keyof typeof ROUTES;

/** Every kind of caller. */
type Caller =
  | 'no token'
  | 'garbage'
  | 'expired operator'
  | 'tampered sandbox B→A'
  | 'old-key operator'
  | 'sandbox A'
  | 'sandbox B'
  | 'viewer A'
  | 'viewer B'
  | 'viewer *'
  | 'operator *'
  | 'operator B';

/** The matrix, written out: what each caller gets on each route of sandbox A. */
const MATRIX: Record<Route, Record<Caller, number>> = {
  // prettier-ignore
  'POST events':       { 'no token': 401, garbage: 401, 'expired operator': 401, 'tampered sandbox B→A': 401, 'old-key operator': 403, 'sandbox A': 200, 'sandbox B': 403, 'viewer A': 403, 'viewer B': 403, 'viewer *': 403, 'operator *': 403, 'operator B': 403 },
  // prettier-ignore
  'POST events/batch': { 'no token': 401, garbage: 401, 'expired operator': 401, 'tampered sandbox B→A': 401, 'old-key operator': 403, 'sandbox A': 200, 'sandbox B': 403, 'viewer A': 403, 'viewer B': 403, 'viewer *': 403, 'operator *': 403, 'operator B': 403 },
  // prettier-ignore
  'GET events':        { 'no token': 401, garbage: 401, 'expired operator': 401, 'tampered sandbox B→A': 401, 'old-key operator': 200, 'sandbox A': 403, 'sandbox B': 403, 'viewer A': 200, 'viewer B': 403, 'viewer *': 200, 'operator *': 200, 'operator B': 403 },
  // prettier-ignore
  'POST messages':     { 'no token': 401, garbage: 401, 'expired operator': 401, 'tampered sandbox B→A': 401, 'old-key operator': 200, 'sandbox A': 403, 'sandbox B': 403, 'viewer A': 403, 'viewer B': 403, 'viewer *': 403, 'operator *': 200, 'operator B': 403 },
  // prettier-ignore
  'GET messages':      { 'no token': 401, garbage: 401, 'expired operator': 401, 'tampered sandbox B→A': 401, 'old-key operator': 200, 'sandbox A': 200, 'sandbox B': 403, 'viewer A': 403, 'viewer B': 403, 'viewer *': 403, 'operator *': 200, 'operator B': 403 },
  // prettier-ignore
  'GET sandboxes':     { 'no token': 401, garbage: 401, 'expired operator': 401, 'tampered sandbox B→A': 401, 'old-key operator': 200, 'sandbox A': 403, 'sandbox B': 403, 'viewer A': 200, 'viewer B': 200, 'viewer *': 200, 'operator *': 200, 'operator B': 200 },
  // prettier-ignore
  'GET sandboxes/A':   { 'no token': 401, garbage: 401, 'expired operator': 401, 'tampered sandbox B→A': 401, 'old-key operator': 200, 'sandbox A': 403, 'sandbox B': 403, 'viewer A': 200, 'viewer B': 403, 'viewer *': 200, 'operator *': 200, 'operator B': 403 },
  // prettier-ignore
  'POST tasks':        { 'no token': 401, garbage: 401, 'expired operator': 401, 'tampered sandbox B→A': 401, 'old-key operator': 422, 'sandbox A': 403, 'sandbox B': 403, 'viewer A': 403, 'viewer B': 403, 'viewer *': 403, 'operator *': 422, 'operator B': 403 },
  // prettier-ignore
  'GET tasks/:id':     { 'no token': 401, garbage: 401, 'expired operator': 401, 'tampered sandbox B→A': 401, 'old-key operator': 404, 'sandbox A': 403, 'sandbox B': 403, 'viewer A': 403, 'viewer B': 403, 'viewer *': 404, 'operator *': 404, 'operator B': 403 },
  // prettier-ignore
  'POST tasks/:id/stop': { 'no token': 401, garbage: 401, 'expired operator': 401, 'tampered sandbox B→A': 401, 'old-key operator': 404, 'sandbox A': 403, 'sandbox B': 403, 'viewer A': 403, 'viewer B': 403, 'viewer *': 403, 'operator *': 404, 'operator B': 403 },
  // prettier-ignore
  'POST sandboxes/A/token': { 'no token': 401, garbage: 401, 'expired operator': 401, 'tampered sandbox B→A': 401, 'old-key operator': 403, 'sandbox A': 409, 'sandbox B': 403, 'viewer A': 403, 'viewer B': 403, 'viewer *': 403, 'operator *': 403, 'operator B': 403 },
  // prettier-ignore
  'GET sandboxes/A/task': { 'no token': 401, garbage: 401, 'expired operator': 401, 'tampered sandbox B→A': 401, 'old-key operator': 404, 'sandbox A': 404, 'sandbox B': 403, 'viewer A': 403, 'viewer B': 403, 'viewer *': 403, 'operator *': 404, 'operator B': 403 },
  // prettier-ignore
  'POST sandboxes/A/task-complete': { 'no token': 401, garbage: 401, 'expired operator': 401, 'tampered sandbox B→A': 401, 'old-key operator': 422, 'sandbox A': 422, 'sandbox B': 403, 'viewer A': 403, 'viewer B': 403, 'viewer *': 403, 'operator *': 422, 'operator B': 403 },
  // prettier-ignore
  'POST tickets/branch': { 'no token': 401, garbage: 401, 'expired operator': 401, 'tampered sandbox B→A': 401, 'old-key operator': 422, 'sandbox A': 403, 'sandbox B': 403, 'viewer A': 403, 'viewer B': 403, 'viewer *': 403, 'operator *': 422, 'operator B': 403 },
  // prettier-ignore
  'POST tickets/pull-request': { 'no token': 401, garbage: 401, 'expired operator': 401, 'tampered sandbox B→A': 401, 'old-key operator': 503, 'sandbox A': 403, 'sandbox B': 403, 'viewer A': 403, 'viewer B': 403, 'viewer *': 403, 'operator *': 503, 'operator B': 403 },
  // prettier-ignore
  'POST tickets/merge': { 'no token': 401, garbage: 401, 'expired operator': 401, 'tampered sandbox B→A': 401, 'old-key operator': 503, 'sandbox A': 403, 'sandbox B': 403, 'viewer A': 403, 'viewer B': 403, 'viewer *': 403, 'operator *': 503, 'operator B': 403 },
  // prettier-ignore
  'GET tickets/branch': { 'no token': 401, garbage: 401, 'expired operator': 401, 'tampered sandbox B→A': 401, 'old-key operator': 503, 'sandbox A': 403, 'sandbox B': 403, 'viewer A': 403, 'viewer B': 403, 'viewer *': 403, 'operator *': 503, 'operator B': 403 },
  // prettier-ignore
  'POST branch-workflow/start': { 'no token': 401, garbage: 401, 'expired operator': 401, 'tampered sandbox B→A': 401, 'old-key operator': 422, 'sandbox A': 403, 'sandbox B': 403, 'viewer A': 403, 'viewer B': 403, 'viewer *': 403, 'operator *': 422, 'operator B': 403 },
  // prettier-ignore
  'POST branch-workflow/finish': { 'no token': 401, garbage: 401, 'expired operator': 401, 'tampered sandbox B→A': 401, 'old-key operator': 422, 'sandbox A': 403, 'sandbox B': 403, 'viewer A': 403, 'viewer B': 403, 'viewer *': 403, 'operator *': 422, 'operator B': 403 },
  // prettier-ignore
  'POST branch-workflow/merge': { 'no token': 401, garbage: 401, 'expired operator': 401, 'tampered sandbox B→A': 401, 'old-key operator': 422, 'sandbox A': 403, 'sandbox B': 403, 'viewer A': 403, 'viewer B': 403, 'viewer *': 403, 'operator *': 422, 'operator B': 403 },
  // prettier-ignore
  'POST branch-workflow/status': { 'no token': 401, garbage: 401, 'expired operator': 401, 'tampered sandbox B→A': 401, 'old-key operator': 422, 'sandbox A': 403, 'sandbox B': 403, 'viewer A': 403, 'viewer B': 403, 'viewer *': 403, 'operator *': 422, 'operator B': 403 },
  // prettier-ignore
  'GET trajectory':    { 'no token': 401, garbage: 401, 'expired operator': 401, 'tampered sandbox B→A': 401, 'old-key operator': 200, 'sandbox A': 403, 'sandbox B': 403, 'viewer A': 200, 'viewer B': 403, 'viewer *': 200, 'operator *': 200, 'operator B': 403 },
};

describe('auth at the edge (relay with AUTH_MODE=on)', () => {
  let relay: RunningRelay;
  let issuer: TokenIssuer;
  let tokens: Record<Caller, string | undefined>;
  const issue = (claims: TokenClaims, subject = 'e2e', ttlSeconds = 600) =>
    issuer.issue(claims, { subject, ttlSeconds });

  beforeAll(async () => {
    const { keys, env } = await authKeys();
    relay = await startRelay({ ...env, WS_AUTH_TIMEOUT_MS: '500' });
    issuer = await issuerFor(keys, 'current');
    const oldIssuer = await issuerFor(keys, 'old');
    const sandboxB = await issuer.issueSandboxToken(B, 600);
    const [h, p, s] = sandboxB.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const retargeted = Buffer.from(JSON.stringify({ ...claims, sandbox_id: A, sub: A })).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    tokens = {
      'no token': undefined,
      garbage: 'not.a.token',
      'expired operator': await expiredToken(keys, now),
      'tampered sandbox B→A': `${h}.${retargeted}.${s}`,
      'old-key operator': await oldIssuer.issue(
        { kind: 'operator', sandboxes: '*' },
        { subject: 'ops', ttlSeconds: 600 },
      ),
      'sandbox A': await issuer.issueSandboxToken(A, 600),
      'sandbox B': sandboxB,
      'viewer A': await issue({ kind: 'viewer', sandboxes: [A] }),
      'viewer B': await issue({ kind: 'viewer', sandboxes: [B] }),
      'viewer *': await issue({ kind: 'viewer', sandboxes: '*' }),
      'operator *': await issue({ kind: 'operator', sandboxes: '*' }),
      'operator B': await issue({ kind: 'operator', sandboxes: [B] }),
    };
    // Both sandboxes exist (have events) before the matrix reads them.
    expect(
      (
        await call(relay.http, 'POST', `/api/v1/sandboxes/${A}/events`, tokens['sandbox A'], {
          event_type: 'agent.started',
        })
      ).status,
    ).toBe(200);
    expect(
      (await call(relay.http, 'POST', `/api/v1/sandboxes/${B}/events`, sandboxB, { event_type: 'agent.started' }))
        .status,
    ).toBe(200);
  });
  afterAll(() => relay.stop());

  const cases = (Object.keys(MATRIX) as Route[]).flatMap((route) =>
    (Object.keys(MATRIX[route]) as Caller[]).map((caller) => [route, caller, MATRIX[route][caller]] as const),
  );

  it.each(cases)('%s as %s → %i', async (route, caller, expected) => {
    const [method, path, body] = ROUTES[route];
    const answer = await call(relay.http, method, path, tokens[caller], body);
    expect(answer.status).toBe(expected);
    if (expected === 401) {
      expect(answer.body.error).toMatchObject({
        code: 'unauthenticated',
        message: expect.any(String),
        requestId: expect.any(String),
      });
      expect(answer.headers.get('www-authenticate')).toBe('Bearer realm="sandbox-relay"');
    }
    if (expected === 403) expect(answer.body.error).toMatchObject({ code: 'forbidden', message: expect.any(String) });
  });

  it('says why: expired, tampered, missing, wrong sandbox', async () => {
    const [, path, body] = ROUTES['POST events'];
    expect((await call(relay.http, 'POST', path, undefined, body)).body.error.message).toMatch(/missing bearer token/);
    expect(
      (await call(relay.http, 'GET', `/api/v1/sandboxes/${A}/messages`, tokens['expired operator'])).body.error.message,
    ).toBe('token expired');
    expect((await call(relay.http, 'POST', path, tokens['tampered sandbox B→A'], body)).body.error.message).toBe(
      'token signature is invalid',
    );
    expect((await call(relay.http, 'POST', path, tokens['sandbox B'], body)).body.error.message).toBe(
      `this sandbox token is not scoped to sandbox ${A}`,
    );
  });

  it('lists only the sandboxes a scoped token may see', async () => {
    const ids = async (caller: Caller) =>
      (
        (await call(relay.http, 'GET', `/api/v1/sandboxes?limit=${SANDBOX_LIST_LIMITS.LIMIT_MAX}`, tokens[caller])).body
          .sandboxes as Array<{ sandbox_id: string }>
      ).map((row) => row.sandbox_id);
    expect(await ids('viewer A')).toEqual([A]);
    expect(await ids('operator B')).toEqual([B]);
    expect(await ids('viewer *')).toEqual(expect.arrayContaining([A, B]));
  });

  it('never reads a token from the URL', async () => {
    const res = await call(relay.http, 'GET', `/api/v1/sandboxes/${A}/events?access_token=${tokens['operator *']}`);
    expect(res.status).toBe(401);
  });

  it('refuses before reading the body: an unauthenticated oversize POST is 401, not 413', async () => {
    const huge = { event_type: 'a', event_data: { blob: 'x'.repeat(2_000_000) } };
    expect((await call(relay.http, 'POST', `/api/v1/sandboxes/${A}/events`, undefined, huge)).status).toBe(401);
  });

  describe('the WebSocket', () => {
    const wsUrl = (query = '') => `${relay.ws}/api/v1/events/ws/events${query}`;
    const authed = async (token: string, query = '') => {
      const probe = await WsProbe.connect(wsUrl(query));
      probe.ws.send(JSON.stringify({ type: 'auth', token }));
      return probe;
    };
    const events = (probe: WsProbe) => probe.frames.filter((frame) => frame.event_type !== undefined);
    const ack = (probe: WsProbe) =>
      waitFor(() => probe.frames.find((frame) => frame.type === 'auth_ok'), 'the auth ack');
    const post = (sandbox: string, content: string, token: string) =>
      call(relay.http, 'POST', `/api/v1/sandboxes/${sandbox}/events`, token, {
        event_type: 'agent.message',
        event_data: { content },
      });

    it('closes a socket that sends no auth frame in time with 4401', async () => {
      const probe = await WsProbe.connect(wsUrl());
      const closed = await probe.closed(5_000);
      expect(closed.code).toBe(WS_CLOSE_CODES.UNAUTHENTICATED);
      expect(closed.reason).toMatch(/no auth frame within 500 ms/);
    });

    it.each([
      ['a first frame that is not auth', { type: 'pong' }, /first frame must be/],
      ['a garbage token', { type: 'auth', token: 'x.y.z' }, /token is malformed/],
    ])('closes %s with 4401', async (_name, frame, reason) => {
      const probe = await WsProbe.connect(wsUrl());
      probe.ws.send(JSON.stringify(frame));
      const closed = await probe.closed();
      expect(closed).toEqual({ code: WS_CLOSE_CODES.UNAUTHENTICATED, reason: expect.stringMatching(reason) });
    });

    it('closes expired and tampered tokens with 4401, a sandbox token with 4403', async () => {
      for (const caller of ['expired operator', 'tampered sandbox B→A'] as const) {
        const closed = await (await authed(tokens[caller]!)).closed();
        expect(closed.code).toBe(WS_CLOSE_CODES.UNAUTHENTICATED);
      }
      const closed = await (await authed(tokens['sandbox A']!)).closed();
      expect(closed).toEqual({ code: WS_CLOSE_CODES.FORBIDDEN, reason: 'a sandbox token may not events:read' });
    });

    it('a scoped viewer receives only its sandboxes, whatever filters it asks for, live and replayed', async () => {
      const writerA = tokens['sandbox A']!;
      const writerB = await issuer.issueSandboxToken(B, 600);
      expect((await post(A, 'stored-a', writerA)).status).toBe(200);
      expect((await post(B, 'stored-b', writerB)).status).toBe(200);

      // No filter, a filter naming both, a filter naming task entities too; all with a full replay.
      const unfiltered = await authed(tokens['viewer A']!, '?since=0');
      const both = await authed(tokens['viewer A']!, `?entity_ids=${A},${B}&since=0`);
      const typed = await authed(tokens['viewer A']!, `?entity_types=sandbox,task&since=0`);
      const everything = await authed(tokens['viewer *']!, `?entity_ids=${A},${B}&since=0`);
      for (const probe of [unfiltered, both, typed])
        expect(await ack(probe)).toMatchObject({ type: 'auth_ok', kind: 'viewer', sandboxes: [A] });
      expect(await ack(everything)).toMatchObject({ kind: 'viewer', sandboxes: [A, B] });

      expect((await post(A, 'live-a', writerA)).status).toBe(200);
      expect((await post(B, 'live-b', writerB)).status).toBe(200);
      await waitFor(
        () => events(everything).some((frame) => frame.payload?.content === 'live-b'),
        'the unscoped viewer to see B live',
      );
      expect(events(everything).some((frame) => frame.entity_id === B && frame.payload?.content === 'stored-b')).toBe(
        true,
      );
      for (const probe of [unfiltered, both, typed]) {
        await waitFor(() => events(probe).length >= 2, "the scoped viewer to see both of A's events");
      }
      // A last event of A: once it arrived, anything of B would have arrived before it.
      expect((await post(B, 'late-b', writerB)).status).toBe(200);
      expect((await post(A, 'late-a', writerA)).status).toBe(200);
      for (const probe of [unfiltered, both, typed]) {
        await waitFor(() => events(probe).some((frame) => frame.payload?.content === 'late-a'), 'the last event of A');
        // Everything it got is A's (the matrix above wrote to A too); none of B's, stored or live.
        expect(new Set(events(probe).map((frame: ProbeFrame) => frame.entity_id))).toEqual(new Set([A]));
        const mine = events(probe)
          .map((frame) => frame.payload?.content)
          .filter((content) => /^(stored|live|late)-/.test(String(content)));
        expect(mine).toEqual(['stored-a', 'live-a', 'late-a']);
        await probe.close();
      }
      await everything.close();
    });

    it('refuses a viewer that asks only for sandboxes outside its scope with 4403', async () => {
      const closed = await (await authed(tokens['viewer A']!, `?entity_ids=${B}`)).closed();
      expect(closed).toEqual({
        code: WS_CLOSE_CODES.FORBIDDEN,
        reason: 'this token may watch none of the requested sandboxes',
      });
      const tasks = await (await authed(tokens['viewer A']!, `?entity_types=task`)).closed();
      expect(tasks.code).toBe(WS_CLOSE_CODES.FORBIDDEN);
    });

    it('closes the socket with 4401 when the token expires while connected', async () => {
      const shortLived = await issuer.issue({ kind: 'viewer', sandboxes: '*' }, { subject: 'brief', ttlSeconds: 2 });
      const probe = await authed(shortLived);
      expect(await ack(probe)).toMatchObject({ expires_at: expect.any(String) });
      const closed = await probe.closed(15_000);
      expect(closed).toEqual({
        code: WS_CLOSE_CODES.UNAUTHENTICATED,
        reason: 'token expired; reconnect with a fresh token',
      });
    });
  });
});

describe('the loopback playground (auth off)', () => {
  let relay: RunningRelay;
  beforeAll(async () => {
    relay = await startRelay();
  });
  afterAll(() => relay.stop());

  it('serves without tokens, and acknowledges an auth frame as anonymous so one client works against both', async () => {
    const sandbox = uniqueId('sb-open');
    expect(
      (
        await call(relay.http, 'POST', `/api/v1/sandboxes/${sandbox}/events`, undefined, {
          event_type: 'agent.started',
        })
      ).status,
    ).toBe(200);
    const probe = await WsProbe.connect(`${relay.ws}/api/v1/events/ws/events?entity_ids=${sandbox}&since=0`);
    probe.ws.send(JSON.stringify({ type: 'auth', token: 'anything' }));
    await waitFor(() => probe.frames.some((frame) => frame.type === 'auth_ok'), 'the ack');
    expect(probe.frames.find((frame) => frame.type === 'auth_ok')).toEqual({
      type: 'auth_ok',
      kind: 'anonymous',
      subject: null,
      sandboxes: [sandbox],
      expires_at: null,
    });
    await waitFor(() => probe.frames.some((frame) => frame.event_type === 'agent.started'), 'the replayed event');
    await probe.close();
  });
});

describe('per-sandbox rate limits at the edge (shared through Redis)', () => {
  let relay: RunningRelay;
  let issuer: TokenIssuer;

  beforeAll(async () => {
    const { keys, env } = await authKeys();
    relay = await startRelay({
      ...env,
      RATE_LIMIT_EVENTS_PER_WINDOW: '3',
      RATE_LIMIT_MESSAGES_PER_WINDOW: '2',
      RATE_LIMIT_WINDOW_S: '1',
    });
    issuer = await issuerFor(keys, 'current');
  });
  afterAll(() => relay.stop());

  it('answers event POSTs past the budget with 429 and retry-after, per sandbox, then recovers', async () => {
    const [busy, quiet] = [uniqueId('sb-rl'), uniqueId('sb-rl')];
    const token = await issuer.issueSandboxToken(busy, 60);
    const post = (path: string, body: unknown) =>
      call(relay.http, 'POST', `/api/v1/sandboxes/${busy}${path}`, token, body);
    expect((await post('/events', { event_type: 'a' })).status).toBe(200);
    expect((await post('/events/batch', [{ event_type: 'b' }, { event_type: 'c' }])).status).toBe(200);
    expect((await post('/events', { event_type: 'd' })).status).toBe(200);
    const limited = await post('/events', { event_type: 'e' });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited.body.error).toMatchObject({ code: 'rate_limited', details: { retry_after_s: expect.any(Number) } });
    // Another sandbox has its own budget.
    const other = await issuer.issueSandboxToken(quiet, 60);
    expect(
      (await call(relay.http, 'POST', `/api/v1/sandboxes/${quiet}/events`, other, { event_type: 'a' })).status,
    ).toBe(200);
    // The refused event was not stored; after the window the sandbox is served again.
    await waitFor(
      async () => (await post('/events', { event_type: 'f' })).status === 200,
      'the budget to refill',
      10_000,
      250,
    );
    const operator = await issuer.issue({ kind: 'operator', sandboxes: '*' }, { subject: 'ops', ttlSeconds: 60 });
    const stored = await call(relay.http, 'GET', `/api/v1/sandboxes/${busy}/events`, operator);
    expect(stored.body.events.map((event: { event_type: string }) => event.event_type)).toEqual([
      'a',
      'b',
      'c',
      'd',
      'f',
    ]);
  });

  it('answers message POSTs past the budget with 429 and retry-after, then recovers', async () => {
    const sandbox = uniqueId('sb-rl');
    const operator = await issuer.issue({ kind: 'operator', sandboxes: '*' }, { subject: 'ops', ttlSeconds: 60 });
    const send = () =>
      call(relay.http, 'POST', `/api/v1/sandboxes/${sandbox}/messages`, operator, {
        message_type: 'user_message',
        content: 'go',
      });
    expect((await send()).status).toBe(200);
    expect((await send()).status).toBe(200);
    const limited = await send();
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    await waitFor(async () => (await send()).status === 200, 'the budget to refill', 10_000, 250);
  });
});

/**
 * The relay with auth on whose supervisor spawns real workers (the bundle built first), in a supervisor
 * scope of its own: no other suite's standalone sweeps (or restarts) these tasks.
 */
async function startRelayWithWorkers(
  scope: string,
  extraEnv: Record<string, string> = {},
): Promise<{ relay: RunningRelay; issuer: TokenIssuer }> {
  const built = spawnSync(process.execPath, [path.resolve(__dirname, '../../../tools/build-worker.mjs')], {
    encoding: 'utf8',
  });
  expect(built.status).toBe(0);
  const { keys, env } = await authKeys();
  const relay = await startRelay({
    ...env,
    QUEUE_PREFIX: uniqueId(scope),
    SUPERVISOR_HEARTBEAT_INTERVAL_MS: '500',
    ...extraEnv,
  });
  return { relay, issuer: await issuerFor(keys, 'current') };
}

describe('a task started by an operator: the worker carries the sandbox token it was issued at spawn', () => {
  let relay: RunningRelay;
  let issuer: TokenIssuer;

  beforeAll(async () => {
    ({ relay, issuer } = await startRelayWithWorkers('auth-sup'));
  });
  afterAll(() => relay.stop());

  it('reports its events and drains its messages with auth on, end to end', async () => {
    const operator = await issuer.issue({ kind: 'operator', sandboxes: '*' }, { subject: 'ops', ttlSeconds: 600 });
    const plan = [{ say: 'hello with a token' }];
    const started = await call(relay.http, 'POST', '/api/v1/tasks', operator, {
      title: 'auth e2e',
      plan,
      worker_env: { POLL_INTERVAL_MS: '100', RELAY_TOKEN: 'smuggled' },
    });
    expect(started.status).toBe(201);
    const sandboxId = started.body.sandbox_id as string;
    const taskId = started.body.id as string;
    const historyOf = async () =>
      ((await call(relay.http, 'GET', `/api/v1/sandboxes/${sandboxId}/events?limit=1000`, operator)).body
        .events as ProbeFrame[]) ?? [];
    const said = async () =>
      (await historyOf())
        .filter((event) => event.event_type === 'agent.message')
        .map((event) => event.payload?.content);

    // Only a token scoped to exactly this sandbox can write these (the relay refuses every other kind).
    await waitFor(async () => (await said()).includes('hello with a token'), "the worker's first events", 20_000);
    // An operator's message reaches it: the worker drains its own queue with the same token.
    const sent = await call(relay.http, 'POST', `/api/v1/sandboxes/${sandboxId}/messages`, operator, {
      message_type: 'user_message',
      content: JSON.stringify([{ say: 'steered' }]),
    });
    expect(sent.status).toBe(200);
    await waitFor(async () => (await said()).includes('steered'), 'the steered turn', 20_000);
    // Its token opens nothing else: another sandbox's path is refused for it (checked here with a token of the same shape).
    const own = await issuer.issueSandboxToken(sandboxId, 60);
    expect((await call(relay.http, 'POST', `/api/v1/sandboxes/${A}/events`, own, { event_type: 'x' })).status).toBe(
      403,
    );

    expect((await call(relay.http, 'POST', `/api/v1/tasks/${taskId}/stop`, operator, {})).status).toBe(200);
  });
});

describe('a worker whose task outlives its sandbox token renews it and keeps reporting', () => {
  let relay: RunningRelay;
  let issuer: TokenIssuer;

  beforeAll(async () => {
    // 12 s tokens (the verifier allows 5 s of clock skew past `exp`): renewed at 8 s, so a task of 22 s
    // outlives the first one. A worker that could not renew would be refused from ~17 s, stop beating
    // and be restarted onto another sandbox.
    ({ relay, issuer } = await startRelayWithWorkers('auth-renew', { SANDBOX_TOKEN_TTL_S: '12' }));
  });
  afterAll(() => relay.stop());

  it("reports events past its first token's expiry, on the same sandbox, never restarted", async () => {
    const operator = await issuer.issue({ kind: 'operator', sandboxes: '*' }, { subject: 'ops', ttlSeconds: 600 });
    const plan = [{ say: 'before' }, { run: 'sleep 22' }, { say: 'after the first token expired' }];
    const started = await call(relay.http, 'POST', '/api/v1/tasks', operator, {
      title: 'token renewal e2e',
      plan,
      worker_env: { POLL_INTERVAL_MS: '200' },
    });
    expect(started.status).toBe(201);
    const sandboxId = started.body.sandbox_id as string;
    const taskId = started.body.id as string;
    const said = async () =>
      (
        ((await call(relay.http, 'GET', `/api/v1/sandboxes/${sandboxId}/events?limit=1000`, operator)).body
          .events as ProbeFrame[]) ?? []
      )
        .filter((event) => event.event_type === 'agent.message')
        .map((event) => event.payload?.content);

    await waitFor(
      async () => (await said()).includes('after the first token expired'),
      'the event after the first token expired',
      45_000,
      500,
    );
    const task = (await call(relay.http, 'GET', `/api/v1/tasks/${taskId}`, operator)).body;
    expect(task).toMatchObject({ sandbox_id: sandboxId, restarts: [] });
    expect((await call(relay.http, 'POST', `/api/v1/tasks/${taskId}/stop`, operator, {})).status).toBe(200);
  }, 60_000);
});

/**
 * An operator token that expired a minute ago, signed with the relay's current key (jose's SignJWT
 * sets any `exp`; the relay's issuer refuses to, which is why this goes around it).
 */
async function expiredToken(keys: RelayJwk[], now: number): Promise<string> {
  const jwk = keys.find((key) => key.kid === 'current')!;
  const key = await importJWK({ ...jwk }, 'EdDSA');
  return new SignJWT({ kind: 'operator', sandboxes: '*' })
    .setProtectedHeader({ alg: 'EdDSA', kid: 'current' })
    .setIssuer('sandbox-relay')
    .setAudience('sandbox-relay')
    .setSubject('ops')
    .setIssuedAt(now - 120)
    .setExpirationTime(now - 60)
    .sign(key);
}
