export * from './lib/env';
export * from './lib/wait';
export * from './lib/ws-probe';
export * from './lib/logger';
export * from './lib/metrics';
export * from './lib/fake-anthropic-server';
export * from './lib/redis-cluster';
export * from './lib/private-redis';
