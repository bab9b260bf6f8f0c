/// <reference path="./jose.d.ts" />
import { randomBytes, randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import type { RelayJwk } from './key-ring';

/**
 * A new key for AUTH_KEYS. `hs256`: a 32-byte shared secret (every service holding it can also mint
 * tokens). `eddsa`: an Ed25519 pair; give verifying services the public half (`publicOnly`) and keep
 * the private half (`d`) where tokens are issued.
 */
export async function generateRelayKey(
  kind: 'hs256' | 'eddsa',
  kid = `k-${randomUUID().slice(0, 8)}`,
): Promise<RelayJwk> {
  if (kind === 'hs256') return { kty: 'oct', kid, alg: 'HS256', k: randomBytes(32).toString('base64url') };
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwk = await exportJWK(privateKey);
  return { kty: 'OKP', crv: 'Ed25519', kid, alg: 'EdDSA', x: String(jwk.x), d: String(jwk.d) };
}

/** The verifying half of a key (for an EdDSA key, without `d`; an HS256 key is its own verifier). */
export function publicOnly(key: RelayJwk): RelayJwk {
  if (key.kty === 'oct') return key;
  const { d: _private, ...rest } = key;
  return rest;
}
