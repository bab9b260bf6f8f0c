export * from './lib/ids';
export * from './lib/event-types';
export * from './lib/events.schema';
export * from './lib/ws.schema';
export * from './lib/filter';
export * from './lib/channels';
export * from './lib/messages.schema';
export * from './lib/queues';
