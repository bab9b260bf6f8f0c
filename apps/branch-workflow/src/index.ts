export { createBranchWorkflowService, type BranchWorkflowService, type BranchWorkflowServiceDeps } from './branch-workflow.service';
export { BranchWorkflow } from './branch-workflow';
export type { BranchNamer, TicketForNaming } from './branch-naming';
export { BranchWorkflowEnv, BranchWorkflowEnvFields, branchWorkflowConfig, parseBranchWorkflowEnv, requireGitHubPair, type BranchWorkflowConfig } from './env';
