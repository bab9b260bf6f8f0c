export { createMessageQueueService, type MessageQueueService, type MessageQueueServiceDeps } from './message-queue.service';
export { MessageService } from './message.service';
export { MessageQueueEnv, messageQueueConfig, parseMessageQueueEnv } from './env';
