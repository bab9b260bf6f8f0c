export {
  createBranchWorkflowService,
  type BranchWorkflowService,
  type BranchWorkflowServiceDeps,
} from './branch-workflow.service';
export { createBranchWorkflowModule, type BranchWorkflowModule } from './branch-workflow.module';
export { BranchWorkflow } from './branch-workflow';
export type { BranchNamer, TicketForNaming } from './branch-naming';
export {
  BranchWorkflowEnv,
  BranchWorkflowEnvFields,
  branchWorkflowConfig,
  parseBranchWorkflowEnv,
  refineBranchWorkflowEnv,
  type BranchWorkflowConfig,
} from './env';
export { AnthropicBranchNamer, type AnthropicBranchNamerOptions } from './anthropic-namer';
