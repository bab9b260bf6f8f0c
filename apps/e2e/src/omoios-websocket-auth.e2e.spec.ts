/// <reference path="../../../libs/auth/src/lib/jose.d.ts" />
import { EdgeAuth, TokenIssuer, generateRelayKey, type RelayJwk } from '@sandbox-relay/auth';
import { OMOIOS_WS_PATH, WS_CLOSE_CODES } from '@sandbox-relay/contracts';
import { parseStandaloneEnv, startStandalone, type Standalone } from '@sandbox-relay/standalone';
import { testInfra, uniqueId, WsProbe } from '@sandbox-relay/testing';
import { SignJWT, importJWK } from 'jose';
import pino from 'pino';
import { eagerWebSocket } from './support/raw-http';

// The original protocol with auth on: the token travels in the query, as the original frontend sends
// it. Every line the relay logs meanwhile (at trace level) is captured: no token may appear in any.

describe('the original WebSocket protocol with auth on', () => {
  const logLines: string[] = [];
  let standalone: Standalone;
  let issuer: TokenIssuer;
  let keys: RelayJwk[];
  let ws: string;
  let http: string;
  const tokens: string[] = [];
  const mint = async (kind: 'viewer' | 'operator', sandboxes: '*' | [string, ...string[]], ttlSeconds = 600) => {
    const token = await issuer.issue({ kind, sandboxes }, { subject: 'e2e', ttlSeconds });
    tokens.push(token);
    return token;
  };
  const original = (query: string) => WsProbe.connect(`${ws}${OMOIOS_WS_PATH}?${query}`);

  async function post(sandbox: string, eventType: string) {
    const token = await issuer.issueSandboxToken(sandbox, 60);
    const res = await fetch(`${http}/api/v1/sandboxes/${sandbox}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ event_type: eventType }),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as { id: string };
  }

  beforeAll(async () => {
    keys = [await generateRelayKey('eddsa', 'current')];
    const { databaseUrl, redisUrl } = testInfra();
    const env = parseStandaloneEnv({
      PORT: '0',
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      LOG_LEVEL: 'trace',
      AUTH_MODE: 'on',
      AUTH_KEYS: JSON.stringify(keys),
      AUTH_SIGNING_KID: 'current',
    });
    standalone = await startStandalone(
      env,
      pino({ level: 'trace' }, { write: (line: string) => void logLines.push(line) }),
    );
    http = standalone.url;
    ws = http.replace(/^http/, 'ws');
    issuer = (await EdgeAuth.fromSettings({ mode: 'on', keys, signingKid: 'current', maxTokenAgeS: 3600 })).issuer!;
  });

  afterAll(async () => {
    await standalone.close();
    // Every token this suite sent (in URLs, frames and headers) is absent from every log line.
    const logs = logLines.join('\n');
    expect(logLines.length).toBeGreaterThan(0);
    expect(logs).toContain(`"url":"${OMOIOS_WS_PATH}?token=[redacted]`);
    for (const token of tokens) {
      for (const part of token.split('.')) expect(logs).not.toContain(part);
    }
  });

  it('streams to a good token in the query', async () => {
    const sandbox = uniqueId('sb-omo-auth');
    const probe = await original(`token=${await mint('viewer', '*')}&entity_ids=${sandbox}`);
    const posted = await post(sandbox, 'agent.tool_use');
    expect(await probe.events(1)).toEqual([
      expect.objectContaining({ id: posted.id, event_type: 'SANDBOX_agent.tool_use', entity_id: sandbox }),
    ]);
    await probe.close();
  });

  it.each([
    ['no token', () => '', /^Authentication required/],
    ['a malformed token', () => 'token=not-a-jwt', /^Invalid token: token is malformed$/],
    [
      'a tampered token',
      async () => `token=${(await mint('viewer', '*')).slice(0, -4)}AAAA`,
      /^Invalid token: token signature is invalid$/,
    ],
    [
      'an expired token',
      async () => `token=${await expiredViewerToken(keys).then((t) => (tokens.push(t), t))}`,
      /^Invalid token: token expired$/,
    ],
    [
      'a sandbox token (may not watch)',
      async () => `token=${await issuer.issueSandboxToken('sb-x', 60).then((t) => (tokens.push(t), t))}`,
      /^a sandbox token may not events:read$/,
    ],
  ])('refuses %s: the socket opens, gets {"error": reason}, and is closed 4401', async (_name, query, reason) => {
    const probe = await original(`${await query()}&entity_ids=sb-x`);
    const closed = await probe.closed();
    expect(probe.frames).toEqual([{ error: expect.stringMatching(reason) }]);
    expect(closed).toEqual({ code: WS_CLOSE_CODES.UNAUTHENTICATED, reason: probe.frames[0]!['error'] });
  });

  it('closes with the error frame and 4401 when the token expires while connected', async () => {
    const probe = await original(`token=${await mint('viewer', '*', 2)}`);
    const closed = await probe.closed(8_000);
    expect(closed.code).toBe(WS_CLOSE_CODES.UNAUTHENTICATED);
    expect(probe.frames.at(-1)).toEqual({ error: 'Token expired; reconnect with a fresh token' });
  });

  it('never widens past a scoped token, whatever the subscribe frames ask', async () => {
    const mine = uniqueId('sb-mine');
    const other = uniqueId('sb-other');
    // No entity filter at all: the socket is narrowed to the token's sandboxes at once.
    const probe = await original(`token=${await mint('viewer', [mine])}`);
    const answer = async (frame: object) => {
      const before = probe.frames.length;
      probe.ws.send(JSON.stringify({ type: 'subscribe', ...frame }));
      return (await probe.events(before + 1))[before];
    };
    expect(await answer({ entity_ids: [mine, other] })).toEqual({
      status: 'subscribed',
      filters: { entity_ids: [mine] },
    });
    expect(await answer({ entity_ids: [] })).toEqual({ status: 'subscribed', filters: { entity_ids: [mine] } });
    expect(await answer({ entity_types: null, entity_ids: null })).toEqual({
      status: 'subscribed',
      filters: { entity_types: ['sandbox'], entity_ids: [mine] },
    });
    expect(await answer({ entity_types: ['task'] })).toEqual({ error: 'this token may watch sandbox entities only' });
    expect(await answer({ entity_ids: [other] })).toEqual({
      error: 'this token may watch none of the requested sandboxes',
    });

    await post(other, 'agent.tool_use');
    const visible = await post(mine, 'agent.tool_use');
    const frames = await probe.events(6);
    expect(frames[5]).toMatchObject({ id: visible.id, entity_id: mine });
    expect(probe.frames.filter((frame) => frame.entity_id === other)).toEqual([]);
    await probe.close();
  });

  it('answers subscribe frames a client sends before its token has been checked (with its upgrade request)', async () => {
    const sandbox = uniqueId('sb-early');
    const token = await mint('viewer', [sandbox]);
    const frames = await eagerWebSocket(
      Number(new URL(http).port),
      `${OMOIOS_WS_PATH}?token=${token}`,
      [JSON.stringify({ type: 'subscribe', event_types: ['SANDBOX_agent.tool_use'] }), 'not json'],
      2,
    );
    expect(frames.map((frame) => JSON.parse(frame))).toEqual([
      { status: 'subscribed', filters: { event_types: ['SANDBOX_agent.tool_use'] } },
      { error: 'Invalid JSON message' },
    ]);
  });

  it('keeps the token out of the request log when the URL comes as a plain GET', async () => {
    const token = await mint('viewer', '*');
    const res = await fetch(`${http}${OMOIOS_WS_PATH}?token=${token}&entity_ids=a`);
    expect(res.status).toBe(404);
    expect(logLines.some((line) => line.includes(`"url":"${OMOIOS_WS_PATH}?token=[redacted]&entity_ids=a"`))).toBe(
      true,
    );
  });
});

/** A viewer token that expired a minute ago (the relay's issuer refuses to sign one; jose's SignJWT does). */
async function expiredViewerToken(keys: RelayJwk[]): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ kind: 'viewer', sandboxes: '*' })
    .setProtectedHeader({ alg: 'EdDSA', kid: 'current' })
    .setIssuer('sandbox-relay')
    .setAudience('sandbox-relay')
    .setSubject('e2e')
    .setIssuedAt(now - 120)
    .setExpirationTime(now - 60)
    .sign(await importJWK({ ...keys[0]! }, 'EdDSA'));
}
