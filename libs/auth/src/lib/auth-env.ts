import { isIP } from 'node:net';
import { z } from 'zod';
import { KeyRingJson } from './key-ring';

/**
 * The auth variables every edge service reads. Spread `AuthEnv.shape` into the app's env schema and
 * run `refineAuthEnv` on the whole schema (it needs `HOST`).
 */
export const AuthEnv = z.object({
  /**
   * `on`: every request and WebSocket needs a relay token. `off`: nobody is checked; allowed only on a
   * loopback HOST (a local playground) and logged loudly at start. Default: `off` on a loopback HOST,
   * `on` anywhere else, so a service bound to a real interface can never start open by accident.
   */
  AUTH_MODE: z.enum(['on', 'off']).optional(),
  /**
   * The key ring: a JSON array of JWKs, each with a unique `kid`. `{"kty":"oct","k":…}` signs and
   * verifies HS256 (k at least 32 bytes); `{"kty":"OKP","crv":"Ed25519","x":…}` verifies EdDSA and
   * also signs when it carries `d`. Rotation: add the new key, point AUTH_SIGNING_KID at it, drop the
   * old key once the tokens it signed have expired. `npm run token -- keygen` prints a new key.
   */
  AUTH_KEYS: KeyRingJson.optional(),
  /** The key new tokens are signed with (only services that issue tokens need one). Default: the first key that can sign. */
  AUTH_SIGNING_KID: z.string().min(1).optional(),
  /** Oldest `iat` accepted whatever `exp` says, so a token minted with a huge expiry still dies. */
  AUTH_MAX_TOKEN_AGE_S: z.coerce
    .number()
    .int()
    .min(60)
    .default(30 * 24 * 3600),
});
export type AuthEnv = z.infer<typeof AuthEnv>;

/** What `refineAuthEnv` needs to see of an app's env. */
interface AuthEnvWithHost extends AuthEnv {
  HOST: string;
}

/** True for 127.0.0.0/8, ::1 and `localhost`: addresses nothing outside this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === 'localhost' || bare === '::1') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return bare.startsWith('::ffff:127.');
}

/** The effective mode: explicit, or derived from HOST. */
export function authMode(env: AuthEnvWithHost): 'on' | 'off' {
  return env.AUTH_MODE ?? (isLoopbackHost(env.HOST) ? 'off' : 'on');
}

/** Cross-field rules of the auth variables; add with `.superRefine(refineAuthEnv)`. */
export function refineAuthEnv(env: AuthEnvWithHost, ctx: z.RefinementCtx): void {
  const mode = authMode(env);
  if (mode === 'off' && !isLoopbackHost(env.HOST)) {
    ctx.addIssue({
      code: 'custom',
      path: ['AUTH_MODE'],
      message: `auth may be off only on a loopback HOST (127.0.0.1, ::1, localhost); HOST is ${env.HOST}`,
    });
  }
  if (mode === 'on' && (env.AUTH_KEYS === undefined || env.AUTH_KEYS.length === 0)) {
    ctx.addIssue({
      code: 'custom',
      path: ['AUTH_KEYS'],
      message: 'is required when auth is on (generate one with `npm run token -- keygen`)',
    });
  }
  if (env.AUTH_SIGNING_KID !== undefined && !env.AUTH_KEYS?.some((key) => key.kid === env.AUTH_SIGNING_KID)) {
    ctx.addIssue({ code: 'custom', path: ['AUTH_SIGNING_KID'], message: `names no key in AUTH_KEYS` });
  }
}

/** The parts of a validated env the auth runtime needs. */
export interface AuthSettings {
  mode: 'on' | 'off';
  keys: AuthEnv['AUTH_KEYS'];
  signingKid?: string;
  maxTokenAgeS: number;
}

export function authSettings(env: AuthEnvWithHost): AuthSettings {
  return {
    mode: authMode(env),
    keys: env.AUTH_KEYS,
    signingKid: env.AUTH_SIGNING_KID,
    maxTokenAgeS: env.AUTH_MAX_TOKEN_AGE_S,
  };
}
