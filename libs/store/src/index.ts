export * from './lib/store';
export * from './lib/store-errors';
export * from './lib/event-repository';
export * from './lib/event-log';
export type { PrismaClient } from './generated/prisma/client';
export * from './lib/message-repository';
export * from './lib/event-sink';
export * from './lib/task-repository';
