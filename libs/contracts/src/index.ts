export * from './lib/ids';
export * from './lib/event-types';
export * from './lib/events.schema';
export * from './lib/ws.schema';
export * from './lib/filter';
export * from './lib/channels';
