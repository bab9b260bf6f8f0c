export * from './lib/errors';
export * from './lib/config';
export * from './lib/logger';
export * from './lib/readiness';
export * from './lib/shutdown';
export * from './lib/validate';
export * from './lib/http-app';
export * from './lib/server';
