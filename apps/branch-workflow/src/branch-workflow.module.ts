import type { ServiceModule } from '@sandbox-relay/service-kit';
import {
  createBranchWorkflowService,
  type BranchWorkflowService,
  type BranchWorkflowServiceDeps,
} from './branch-workflow.service';

export interface BranchWorkflowModule extends ServiceModule {
  branches: BranchWorkflowService;
}

/**
 * The branch workflow as a process composes it: its routes (guarded inside the router: branches:manage),
 * the `branch-workflow` consumer and the task-event triggers (ready only while it consumes, or without GitHub).
 */
export function createBranchWorkflowModule(deps: BranchWorkflowServiceDeps): BranchWorkflowModule {
  const branches = createBranchWorkflowService(deps);
  return {
    name: 'branch-workflow',
    branches,
    router: branches.router,
    readiness: [
      {
        name: 'branch-workflow-worker',
        check: async () => {
          if (!branches.running()) throw new Error('not consuming branch-workflow');
        },
      },
    ],
    // The BullMQ worker was created paused; it consumes only once the process can serve.
    start: async () => branches.start(),
    shutdown: { afterHttpClose: [{ name: 'branch-workflow', run: () => branches.close() }] },
  };
}
