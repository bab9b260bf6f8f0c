export * from './lib/auth-env';
export { KeyRing, KeyRingJson, RelayJwk, RELAY_ALGORITHMS } from './lib/key-ring';
export * from './lib/permissions';
export * from './lib/errors';
export * from './lib/tokens';
export * from './lib/edge-auth';
export * from './lib/rate-limit';
export * from './lib/ws-auth';
export * from './lib/keygen';
