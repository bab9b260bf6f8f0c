import {
  OMOIOS_TICKET_TYPE_KINDS,
  OmoiosBranchStatusRequest,
  OmoiosFinishWorkRequest,
  OmoiosMergeWorkRequest,
  OmoiosStartWorkRequest,
  type BranchNameKind,
  type BranchWorkflowStep,
  type OmoiosBranchStatusResponse,
  type OmoiosFinishWorkResponse,
  type OmoiosMergeWorkResponse,
  type OmoiosStartWorkResponse,
} from '@sandbox-relay/contracts';
import { GitHubError } from '@sandbox-relay/github';
import { ValidationError, jsonBody, parseRequest, requireJsonBody } from '@sandbox-relay/service-kit';
import type { Router } from 'express';
import type { BranchWorkflow } from './branch-workflow';
import { GitHubNotConfiguredError, WorkflowConflictError, gitHubAppError } from './workflow-errors';

/** Runs a workflow step, recording a failure event on the ticket and mapping GitHub's errors (the ticket routes' helper). */
export type StepRunner = <T>(
  name: BranchWorkflowStep,
  ticketId: string,
  taskId: string | undefined,
  work: () => Promise<T>,
) => Promise<T>;

/** The original's ticket type and priority as the relay's branch kind: a critical bug is a hotfix. */
export function kindForTicket(ticketType: string, priority: string | null | undefined): BranchNameKind {
  if (ticketType === 'bug' && priority === 'critical') return 'hotfix';
  return OMOIOS_TICKET_TYPE_KINDS[ticketType] ?? 'feature';
}

/**
 * The original system's (OmoiOS) branch workflow edge, `POST /api/v1/branch-workflow/{start,finish,merge,status}`,
 * onto the relay's ticket workflow: the same steps, locks, events and idempotency as the ticket routes.
 * Its bodies name a repository on every call; the relay serves the one it is configured with, and
 * refuses another with 422 rather than acting on the wrong one.
 */
export function registerOmoiosBranchRoutes(
  router: Router,
  workflow: BranchWorkflow,
  options: { repository: string; bodyLimit: string; step: StepRunner },
): void {
  const { repository, bodyLimit, step } = options;
  /** GitHub first (503 without it), then the repository the body names. */
  const requireRepository = (body: { repo_owner: string; repo_name: string }) => {
    if (!workflow.configured) throw new GitHubNotConfiguredError();
    const [owner, name] = repository.split('/');
    // GitHub's owner and repository names are case-insensitive.
    const issues = [
      { field: 'body.repo_owner', ok: body.repo_owner.toLowerCase() === owner?.toLowerCase() },
      { field: 'body.repo_name', ok: body.repo_name.toLowerCase() === name?.toLowerCase() },
    ].filter((issue) => !issue.ok);
    if (issues.length > 0)
      throw new ValidationError(
        issues.map(({ field }) => ({ field, message: `this relay serves ${repository} only` })),
      );
  };

  router.post('/api/v1/branch-workflow/start', jsonBody(bodyLimit), async (req, res) => {
    const body = parseRequest(OmoiosStartWorkRequest, requireJsonBody(req.body), 'body');
    requireRepository(body);
    const kind = kindForTicket(body.ticket_type, body.priority);
    const work = await step('start', body.ticket_id, undefined, () =>
      workflow.startWorkOnTicket({ ticketId: body.ticket_id, title: body.ticket_title, kind }),
    );
    const answer: OmoiosStartWorkResponse = {
      success: true,
      branch_name: work.branch_name,
      sha: work.base_sha,
      error: null,
    };
    res.json(answer);
  });

  router.post('/api/v1/branch-workflow/finish', jsonBody(bodyLimit), async (req, res) => {
    const body = parseRequest(OmoiosFinishWorkRequest, requireJsonBody(req.body), 'body');
    requireRepository(body);
    const work = await step('finish', body.ticket_id, undefined, async () => {
      const current = await workflow.current(body.ticket_id);
      if (current.branch_name !== body.branch_name) {
        throw new WorkflowConflictError(
          'branch_mismatch',
          `ticket ${body.ticket_id} works on ${current.branch_name}, not ${body.branch_name}`,
          { branch_name: current.branch_name },
        );
      }
      return workflow.finishWorkOnTicket({ ticketId: body.ticket_id, summary: body.pr_body ?? undefined });
    });
    const answer: OmoiosFinishWorkResponse = {
      success: true,
      pr_number: work.pr_number!,
      pr_url: work.pr_url!,
      error: null,
    };
    res.json(answer);
  });

  router.post('/api/v1/branch-workflow/merge', jsonBody(bodyLimit), async (req, res) => {
    const body = parseRequest(OmoiosMergeWorkRequest, requireJsonBody(req.body), 'body');
    requireRepository(body);
    const work = await step('merge', body.ticket_id, undefined, async () => {
      const current = await workflow.current(body.ticket_id);
      if (current.pr_number !== null && current.pr_number !== body.pr_number) {
        throw new WorkflowConflictError(
          'pull_request_mismatch',
          `ticket ${body.ticket_id}'s pull request is #${current.pr_number}, not #${body.pr_number}`,
          {
            pr_number: current.pr_number,
          },
        );
      }
      return workflow.mergeTicketWork({ ticketId: body.ticket_id, method: body.merge_method });
    });
    const answer: OmoiosMergeWorkResponse = {
      success: true,
      merge_sha: work.merge_sha,
      has_conflicts: false,
      error: null,
    };
    res.json(answer);
  });

  router.post('/api/v1/branch-workflow/status', jsonBody(bodyLimit), async (req, res) => {
    const body = parseRequest(OmoiosBranchStatusRequest, requireJsonBody(req.body), 'body');
    requireRepository(body);
    try {
      const status = await workflow.compareBranch(body.branch_name);
      const answer: OmoiosBranchStatusResponse = {
        success: true,
        ahead_by: status.aheadBy,
        behind_by: status.behindBy,
        has_conflicts: false,
        error: null,
      };
      res.json(answer);
    } catch (error) {
      throw error instanceof GitHubError ? gitHubAppError(error, repository) : error;
    }
  });
}
