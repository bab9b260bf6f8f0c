export * from './lib/redis';
export * from './lib/event-bus';
