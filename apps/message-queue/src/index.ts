export {
  createMessageQueueService,
  type MessageQueueService,
  type MessageQueueServiceDeps,
} from './message-queue.service';
export { createMessageQueueModule, type MessageQueueModule } from './message-queue.module';
export { MessageService } from './message.service';
export { MessageQueueEnv, messageQueueConfig, parseMessageQueueEnv } from './env';
