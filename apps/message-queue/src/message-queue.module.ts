import type { ServiceModule } from '@sandbox-relay/service-kit';
import {
  createMessageQueueService,
  type MessageQueueService,
  type MessageQueueServiceDeps,
} from './message-queue.service';

export interface MessageQueueModule extends ServiceModule {
  messages: MessageQueueService;
}

/** The message queue as a process composes it: the message edge and the `sandbox-messages` consumer. */
export function createMessageQueueModule(deps: MessageQueueServiceDeps): MessageQueueModule {
  const messages = createMessageQueueService(deps);
  return {
    name: 'message-queue',
    messages,
    router: messages.router,
    readiness: [
      {
        name: 'message-worker',
        check: async () => {
          if (!messages.running()) throw new Error('not consuming sandbox-messages');
        },
      },
    ],
    // The BullMQ worker was created paused; it consumes only once the process can serve.
    start: async () => messages.start(),
    shutdown: { afterHttpClose: [{ name: 'message-worker', run: () => messages.close() }] },
  };
}
