import { GitHubError } from '@sandbox-relay/github';
import { AppError, counter } from '@sandbox-relay/service-kit';

/** Workflow operations by operation (start, pull_request, merge) and outcome; never a ticket id. */
export const operations = counter<'operation' | 'outcome'>({
  name: 'relay_branch_workflow_operations_total',
  help: 'Branch workflow operations, by operation (start, pull_request, merge) and outcome: changed, unchanged (already done), rejected (4xx: conflict, bad input), failed (GitHub or the store failing, not configured).',
  labelNames: ['operation', 'outcome'],
});

export type WorkflowOperation = 'start' | 'pull_request' | 'merge';

/** Runs one operation and counts its outcome. */
export async function counted<T extends { changed?: boolean }>(
  operation: WorkflowOperation,
  run: () => Promise<T>,
): Promise<T> {
  try {
    const result = await run();
    operations.inc({ operation, outcome: result.changed === false ? 'unchanged' : 'changed' });
    return result;
  } catch (error) {
    const status =
      error instanceof AppError
        ? error.status
        : error instanceof GitHubError &&
            ['ref_exists', 'not_mergeable', 'head_changed', 'already_exists', 'no_commits'].includes(error.kind)
          ? 409
          : 500;
    operations.inc({ operation, outcome: status < 500 ? 'rejected' : 'failed' });
    throw error;
  }
}
