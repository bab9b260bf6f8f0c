/// <reference path="./jose.d.ts" />
import { TOKEN_AUDIENCE, TOKEN_ISSUER } from '@sandbox-relay/contracts';
import { SignJWT } from 'jose';
import { UnauthorizedError } from './errors';
import { generateRelayKey, publicOnly } from './keygen';
import { KeyRing, KeyRingJson, type RelayJwk } from './key-ring';
import { TokenIssuer, TokenVerifier } from './tokens';

const verifierFor = async (keys: RelayJwk[]) => new TokenVerifier(await KeyRing.load(keys), { maxTokenAgeS: 3600 });
const issuerFor = async (keys: RelayJwk[], kid?: string) => new TokenIssuer(await KeyRing.load(keys, kid));

async function refusal(verifier: TokenVerifier, token: string): Promise<string> {
  const error = await verifier.verify(token).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UnauthorizedError);
  return (error as UnauthorizedError).message;
}

/** Signs arbitrary claims with a raw HS256 key, for tokens the issuer would never produce. */
async function forge(
  key: Extract<RelayJwk, { kty: 'oct' }>,
  claims: Record<string, unknown>,
  edit: (jwt: SignJWT) => SignJWT = (j) => j,
) {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: key.kid });
  return edit(jwt).sign(Buffer.from(key.k, 'base64url'));
}

describe.each(['hs256', 'eddsa'] as const)('relay tokens (%s)', (alg) => {
  it('issues and verifies each kind with its scope, subject and expiry', async () => {
    const key = await generateRelayKey(alg, 'k1');
    const issuer = await issuerFor([key]);
    const verifier = await verifierFor([publicOnly(key)]);

    const sandbox = await verifier.verify(await issuer.issueSandboxToken('sb-1', 600));
    expect(sandbox).toMatchObject({ kind: 'sandbox', subject: 'sb-1', sandboxes: new Set(['sb-1']) });
    expect(sandbox.expiresAt!.getTime()).toBeGreaterThan(Date.now() + 590_000);
    expect(sandbox.expiresAt!.getTime()).toBeLessThanOrEqual(Date.now() + 600_000);

    const viewer = await verifier.verify(
      await issuer.issue({ kind: 'viewer', sandboxes: ['a', 'b'] }, { subject: 'ann', ttlSeconds: 60 }),
    );
    expect(viewer).toMatchObject({ kind: 'viewer', subject: 'ann', sandboxes: new Set(['a', 'b']) });
    const operator = await verifier.verify(
      await issuer.issue({ kind: 'operator', sandboxes: '*' }, { subject: 'ops', ttlSeconds: 60 }),
    );
    expect(operator).toMatchObject({ kind: 'operator', subject: 'ops', sandboxes: '*' });
    expect(operator.tokenId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses a tampered token: payload changed, signature kept', async () => {
    const key = await generateRelayKey(alg, 'k1');
    const token = await (await issuerFor([key])).issueSandboxToken('sb-1', 600);
    const [header, payload, signature] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    const widened = Buffer.from(JSON.stringify({ ...claims, sandbox_id: 'sb-2' })).toString('base64url');
    expect(await refusal(await verifierFor([key]), `${header}.${widened}.${signature}`)).toBe(
      'token signature is invalid',
    );
  });
});

describe('token verification refuses', () => {
  let key: Extract<RelayJwk, { kty: 'oct' }>;
  let verifier: TokenVerifier;
  beforeAll(async () => {
    key = (await generateRelayKey('hs256', 'k1')) as typeof key;
    verifier = await verifierFor([key]);
  });
  const now = () => Math.floor(Date.now() / 1000);
  const valid = { kind: 'sandbox', sandbox_id: 'sb-1' };
  const registered = (j: SignJWT) => j.setIssuer(TOKEN_ISSUER).setAudience(TOKEN_AUDIENCE).setSubject('sb-1');

  it('an expired token', async () => {
    const token = await forge(key, valid, (j) =>
      registered(j)
        .setIssuedAt(now() - 120)
        .setExpirationTime(now() - 60),
    );
    expect(await refusal(verifier, token)).toBe('token expired');
  });

  it('a token without expiry', async () => {
    const token = await forge(key, valid, (j) => registered(j).setIssuedAt());
    expect(await refusal(verifier, token)).toMatch(/claim exp/);
  });

  it('a token issued longer ago than the maximum age, whatever its expiry', async () => {
    const token = await forge(key, valid, (j) =>
      registered(j)
        .setIssuedAt(now() - 7200)
        .setExpirationTime(now() + 3600),
    );
    // jose reports an iat past the maximum age as an expiry.
    expect(await refusal(verifier, token)).toBe('token expired');
  });

  it('a token for another audience or issuer', async () => {
    const otherAudience = await forge(key, valid, (j) =>
      j.setIssuer(TOKEN_ISSUER).setAudience('elsewhere').setSubject('x').setIssuedAt().setExpirationTime('1m'),
    );
    expect(await refusal(verifier, otherAudience)).toMatch(/claim aud/);
    const otherIssuer = await forge(key, valid, (j) =>
      j.setIssuer('elsewhere').setAudience(TOKEN_AUDIENCE).setSubject('x').setIssuedAt().setExpirationTime('1m'),
    );
    expect(await refusal(verifier, otherIssuer)).toMatch(/claim iss/);
  });

  it("claims that are not a relay token's (unknown kind, sandbox token without its sandbox)", async () => {
    for (const claims of [{ kind: 'admin' }, { kind: 'sandbox' }, { kind: 'viewer', sandboxes: [] }]) {
      const token = await forge(key, claims, (j) => registered(j).setIssuedAt().setExpirationTime('1m'));
      expect(await refusal(verifier, token)).toMatch(/not a relay token/);
    }
  });

  it('an unsigned token (alg none) and garbage', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', kid: 'k1' })).toString('base64url');
    const body = Buffer.from(
      JSON.stringify({ ...valid, iss: TOKEN_ISSUER, aud: TOKEN_AUDIENCE, sub: 'x', iat: now(), exp: now() + 60 }),
    ).toString('base64url');
    expect(await refusal(verifier, `${header}.${body}.`)).toBe('token algorithm is not allowed');
    expect(await refusal(verifier, 'not-a-jwt')).toBe('token is malformed');
  });

  it('a token signed by a key we do not hold, or naming our kid with another algorithm', async () => {
    const stranger = (await generateRelayKey('hs256', 'k1')) as typeof key;
    const token = await forge(stranger, valid, (j) => registered(j).setIssuedAt().setExpirationTime('1m'));
    expect(await refusal(verifier, token)).toBe('token signature is invalid');
    const ed = await generateRelayKey('eddsa', 'k1');
    const confused = await (await issuerFor([ed])).issueSandboxToken('sb-1', 60);
    expect(await refusal(verifier, confused)).toMatch(/unknown key or algorithm/);
  });
});

describe('key rotation by kid', () => {
  it('keeps old tokens valid while the old key stays in the ring, and refuses them once it is dropped', async () => {
    const old = await generateRelayKey('hs256', 'old');
    const next = await generateRelayKey('eddsa', 'next');
    const oldToken = await (await issuerFor([old])).issueSandboxToken('sb-1', 600);
    const rotated = await issuerFor([old, next], 'next');
    const newToken = await rotated.issueSandboxToken('sb-1', 600);
    expect(JSON.parse(Buffer.from(newToken.split('.')[0]!, 'base64url').toString())).toMatchObject({
      kid: 'next',
      alg: 'EdDSA',
    });

    const during = await verifierFor([old, publicOnly(next)]);
    await expect(during.verify(oldToken)).resolves.toMatchObject({ kind: 'sandbox' });
    await expect(during.verify(newToken)).resolves.toMatchObject({ kind: 'sandbox' });
    const after = await verifierFor([publicOnly(next)]);
    expect(await refusal(after, oldToken)).toMatch(/unknown key/);
    await expect(after.verify(newToken)).resolves.toMatchObject({ kind: 'sandbox' });
  });

  it('refuses to sign with a public-only key, and a ring JSON with duplicate kids or short secrets', async () => {
    const pub = publicOnly(await generateRelayKey('eddsa', 'p'));
    const ring = await KeyRing.load([pub]);
    expect(() => ring.signingKey()).toThrow(/can sign/);
    await expect(KeyRing.load([pub], 'p')).rejects.toThrow(/names no key that can sign/);
    const hs = await generateRelayKey('hs256', 'a');
    expect(KeyRingJson.safeParse(JSON.stringify([hs, hs])).success).toBe(false);
    expect(KeyRingJson.safeParse(JSON.stringify([{ ...hs, k: Buffer.alloc(16).toString('base64url') }])).success).toBe(
      false,
    );
    expect(KeyRingJson.safeParse('not json').success).toBe(false);
    expect(KeyRingJson.parse(JSON.stringify([hs, pub]))).toHaveLength(2);
  });
});
