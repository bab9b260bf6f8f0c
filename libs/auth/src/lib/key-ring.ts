/// <reference path="./jose.d.ts" />
import { importJWK, type CryptoKey, type JWTHeaderParameters } from 'jose';
import { z } from 'zod';

const Base64Url = z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be base64url');
const Kid = z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'must match [A-Za-z0-9._:-]{1,64}');

/** An HS256 secret. 32 bytes is the floor RFC 7518 §3.2 sets for HS256 keys. */
const OctJwk = z.object({
  kty: z.literal('oct'),
  kid: Kid,
  k: Base64Url.refine((k) => Buffer.from(k, 'base64url').length >= 32, 'must decode to at least 32 bytes'),
  alg: z.literal('HS256').optional(),
});

/** An Ed25519 key: `x` verifies, `d` (present only where tokens are issued) signs. */
const OkpJwk = z.object({
  kty: z.literal('OKP'),
  crv: z.literal('Ed25519'),
  kid: Kid,
  x: Base64Url,
  d: Base64Url.optional(),
  alg: z.enum(['EdDSA', 'Ed25519']).optional(),
});

export const RelayJwk = z.discriminatedUnion('kty', [OctJwk, OkpJwk]);
export type RelayJwk = z.infer<typeof RelayJwk>;

/** `AUTH_KEYS`: a JSON array of JWKs with unique kids. */
export const KeyRingJson = z
  .string()
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON array of JWKs' });
      return z.NEVER;
    }
  })
  .pipe(
    z
      .array(RelayJwk)
      .min(1)
      .refine((keys) => new Set(keys.map((key) => key.kid)).size === keys.length, 'every key needs a unique kid'),
  );

/** The algorithms the relay signs with; a token announcing anything else (`none`, RS256, …) is refused. */
export const RELAY_ALGORITHMS = ['HS256', 'EdDSA', 'Ed25519'] as const;

interface RingKey {
  kid: string;
  /** The JWS `alg` values this key verifies. */
  algs: readonly string[];
  verify: CryptoKey | Uint8Array;
  sign?: { alg: string; key: CryptoKey | Uint8Array };
}

/** The relay's keys by id: one signs new tokens, all verify (rotation keeps old ones verifying). */
export class KeyRing {
  private constructor(
    private readonly keys: Map<string, RingKey>,
    readonly signingKid: string | undefined,
  ) {}

  static async load(jwks: readonly RelayJwk[], signingKid?: string): Promise<KeyRing> {
    const keys = new Map<string, RingKey>();
    for (const jwk of jwks) keys.set(jwk.kid, await importRingKey(jwk));
    const signer = signingKid ?? jwks.find((jwk) => keys.get(jwk.kid)?.sign)?.kid;
    if (signingKid !== undefined && !keys.get(signingKid)?.sign)
      throw new Error(`AUTH_SIGNING_KID ${signingKid} names no key that can sign`);
    return new KeyRing(keys, signer);
  }

  get kids(): string[] {
    return [...this.keys.keys()];
  }

  /** The key a token's header asks for, or undefined when the kid is unknown or the alg is not that key's. */
  verificationKey(header: Pick<JWTHeaderParameters, 'kid' | 'alg'>): CryptoKey | Uint8Array | undefined {
    const key = header.kid === undefined ? undefined : this.keys.get(header.kid);
    return key && key.algs.includes(header.alg) ? key.verify : undefined;
  }

  /** The current signing key; throws when this ring can only verify. */
  signingKey(): { kid: string; alg: string; key: CryptoKey | Uint8Array } {
    const ring = this.signingKid === undefined ? undefined : this.keys.get(this.signingKid);
    if (!ring?.sign)
      throw new Error('no key in AUTH_KEYS can sign (an HS256 key, or an Ed25519 key with its private part d)');
    return { kid: ring.kid, alg: ring.sign.alg, key: ring.sign.key };
  }
}

async function importRingKey(jwk: RelayJwk): Promise<RingKey> {
  if (jwk.kty === 'oct') {
    const secret = Buffer.from(jwk.k, 'base64url');
    return { kid: jwk.kid, algs: ['HS256'], verify: secret, sign: { alg: 'HS256', key: secret } };
  }
  const publicKey = (await importJWK({ kty: 'OKP', crv: 'Ed25519', x: jwk.x }, 'EdDSA')) as CryptoKey;
  const sign =
    jwk.d === undefined
      ? undefined
      : { alg: 'EdDSA', key: (await importJWK({ ...jwk, alg: undefined }, 'EdDSA')) as CryptoKey };
  return { kid: jwk.kid, algs: ['EdDSA', 'Ed25519'], verify: publicKey, sign };
}
