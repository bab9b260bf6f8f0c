import {
  MergeRequest,
  OpenPullRequestRequest,
  StartBranchRequest,
  TicketId,
  type BranchWorkflowStep,
} from '@sandbox-relay/contracts';
import { ACTIONS, EdgeAuth } from '@sandbox-relay/auth';
import { GitHubError } from '@sandbox-relay/github';
import { jsonBody, parseRequest } from '@sandbox-relay/service-kit';
import { Router, type Request } from 'express';
import { z } from 'zod';
import type { BranchWorkflow } from './branch-workflow';
import { registerOmoiosBranchRoutes } from './omoios-branch.routes';
import { WorkflowConflictError, gitHubAppError } from './workflow-errors';

const TicketParams = z.object({ ticketId: TicketId });

/** Every path of the workflow's edge: the relay's ticket routes and the original system's (OmoiOS) routes. */
export const BRANCH_WORKFLOW_PATH_PREFIXES = ['/api/v1/tickets', '/api/v1/branch-workflow'] as const;

export interface BranchWorkflowRouteOptions {
  repository: string;
  bodyLimit?: string;
  /** Every route is an operator's (`branches:manage`); absent means off (tests that are not about auth). */
  auth?: EdgeAuth;
}

/**
 * The branch workflow's edge for people: every route in this one router, behind the one token check
 * mounted here (so each composition root gets it by mounting the router). On the ticket routes,
 * creating answers 201 and repeating a step that was already done answers 200 with `changed: false`.
 */
export function branchWorkflowRouter(
  workflow: BranchWorkflow,
  { repository, bodyLimit = '64kb', auth = EdgeAuth.off() }: BranchWorkflowRouteOptions,
): Router {
  const router = Router();
  // Any method and path under the prefixes, unknown ones too: a refused caller learns nothing of the routes.
  router.use([...BRANCH_WORKFLOW_PATH_PREFIXES], auth.require(ACTIONS.BRANCHES_MANAGE));
  const ticketOf = (req: Request) => parseRequest(TicketParams, req.params, 'params').ticketId;
  const optionalBody = (req: Request) => (req.body === undefined || req.body === null ? {} : req.body);
  /** A GitHub failure becomes its HTTP answer, and a failure event on the ticket. */
  const step = async <T>(
    name: BranchWorkflowStep,
    ticketId: string,
    taskId: string | undefined,
    work: () => Promise<T>,
  ): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      if (error instanceof GitHubError || error instanceof WorkflowConflictError) {
        await workflow.recordFailure(name, ticketId, taskId, error).catch(() => undefined);
      }
      throw error instanceof GitHubError ? gitHubAppError(error, repository) : error;
    }
  };

  router.post('/api/v1/tickets/:ticketId/branch', jsonBody(bodyLimit), async (req, res) => {
    const ticketId = ticketOf(req);
    const body = parseRequest(StartBranchRequest, optionalBody(req), 'body');
    const work = await step('start', ticketId, body.task_id, () =>
      workflow.startWorkOnTicket({
        ticketId,
        title: body.title,
        description: body.description,
        taskId: body.task_id,
        kind: body.kind,
      }),
    );
    res.status(work.changed ? 201 : 200).json(work);
  });

  router.post('/api/v1/tickets/:ticketId/pull-request', jsonBody(bodyLimit), async (req, res) => {
    const ticketId = ticketOf(req);
    const body = parseRequest(OpenPullRequestRequest, optionalBody(req), 'body');
    const work = await step('finish', ticketId, undefined, () =>
      workflow.finishWorkOnTicket({ ticketId, summary: body.summary }),
    );
    res.status(work.changed ? 201 : 200).json(work);
  });

  router.post('/api/v1/tickets/:ticketId/merge', jsonBody(bodyLimit), async (req, res) => {
    const ticketId = ticketOf(req);
    const body = parseRequest(MergeRequest, optionalBody(req), 'body');
    res.json(
      await step('merge', ticketId, undefined, () => workflow.mergeTicketWork({ ticketId, method: body.merge_method })),
    );
  });

  router.get('/api/v1/tickets/:ticketId/branch', async (req, res) => {
    const ticketId = ticketOf(req);
    res.json(await workflow.current(ticketId));
  });

  registerOmoiosBranchRoutes(router, workflow, { repository, bodyLimit, step });

  router.get('/api/v1/tickets/:ticketId/compare', async (req, res) => {
    const ticketId = ticketOf(req);
    try {
      res.json(await workflow.compare(ticketId));
    } catch (error) {
      throw error instanceof GitHubError ? gitHubAppError(error, repository) : error;
    }
  });

  return router;
}
