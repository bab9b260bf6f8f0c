import { parseEnv } from '@sandbox-relay/service-kit';
import { z } from 'zod';
import { AuthEnv, authSettings, isLoopbackHost, refineAuthEnv } from './auth-env';
import { generateRelayKey } from './keygen';

const Env = AuthEnv.extend({ HOST: z.string().default('127.0.0.1') }).superRefine(refineAuthEnv);

describe('auth env', () => {
  let keys: string;
  beforeAll(async () => {
    keys = JSON.stringify([await generateRelayKey('hs256', 'k1'), await generateRelayKey('eddsa', 'k2')]);
  });

  it('is off by default on loopback and on by default anywhere else', () => {
    expect(authSettings(parseEnv(Env, {})).mode).toBe('off');
    expect(authSettings(parseEnv(Env, { HOST: '0.0.0.0', AUTH_KEYS: keys })).mode).toBe('on');
  });

  it('refuses to start open on a non-loopback address', () => {
    expect(() => parseEnv(Env, { HOST: '0.0.0.0', AUTH_MODE: 'off' })).toThrow(
      /AUTH_MODE: auth may be off only on a loopback HOST/,
    );
    expect(() => parseEnv(Env, { HOST: '10.1.2.3' })).toThrow(/AUTH_KEYS: is required when auth is on/);
  });

  it('needs keys when on, and a signing kid that names one of them', () => {
    expect(() => parseEnv(Env, { AUTH_MODE: 'on' })).toThrow(/AUTH_KEYS: is required/);
    expect(() => parseEnv(Env, { AUTH_MODE: 'on', AUTH_KEYS: keys, AUTH_SIGNING_KID: 'nope' })).toThrow(
      /AUTH_SIGNING_KID: names no key/,
    );
    expect(() => parseEnv(Env, { AUTH_MODE: 'on', AUTH_KEYS: '[{"kty":"oct","kid":"a","k":"c2hvcnQ"}]' })).toThrow(
      /AUTH_KEYS/,
    );
    const env = parseEnv(Env, { AUTH_MODE: 'on', AUTH_KEYS: keys, AUTH_SIGNING_KID: 'k2' });
    expect(authSettings(env)).toMatchObject({ mode: 'on', signingKid: 'k2' });
  });

  it.each([
    ['127.0.0.1', true],
    ['127.8.9.1', true],
    ['::1', true],
    ['[::1]', true],
    ['localhost', true],
    ['0.0.0.0', false],
    ['::', false],
    ['192.168.1.4', false],
    ['relay.example.com', false],
  ])('isLoopbackHost(%s) = %s', (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });
});
