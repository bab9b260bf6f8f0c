export * from './lib/redis';
export * from './lib/event-bus';
export * from './lib/job-queues';
export * from './lib/omoios-bridge';
