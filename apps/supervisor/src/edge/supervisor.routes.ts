import { CreateTaskBody, SandboxId, StopTaskBody, TaskCompleteBody, TaskId, parsePlan } from '@sandbox-relay/contracts';
import { ValidationError, jsonBody, parseRequest, requireJsonBody } from '@sandbox-relay/service-kit';
import { Router } from 'express';
import { z } from 'zod';
import type { Supervisor } from '../supervisor';

const TaskParams = z.object({ taskId: TaskId });
const SandboxParams = z.object({ sandboxId: SandboxId });

/** The task edge: start a task in a sandbox, read it, stop it; a sandbox's own task (the original's routes). */
export function supervisorRouter(supervisor: Supervisor, { bodyLimit }: { bodyLimit: string }): Router {
  const router = Router();

  router.post('/api/v1/tasks', jsonBody(bodyLimit), async (req, res) => {
    const body = parseRequest(CreateTaskBody, requireJsonBody(req.body), 'body');
    // The worker would refuse a bad plan at start (exit 1); refuse it here instead, before a sandbox exists.
    if (body.plan !== undefined) {
      const plan = parsePlan(body.plan);
      if (!plan.ok) throw new ValidationError([{ field: 'body.plan', message: plan.error }]);
    }
    res.status(201).json(await supervisor.startTask(body));
  });

  router.get('/api/v1/tasks/:taskId', async (req, res) => {
    const { taskId } = parseRequest(TaskParams, req.params, 'params');
    res.set('cache-control', 'no-store').json(await supervisor.getTask(taskId));
  });

  router.post('/api/v1/tasks/:taskId/stop', jsonBody(bodyLimit), async (req, res) => {
    const { taskId } = parseRequest(TaskParams, req.params, 'params');
    // An empty body is fine: the reason has a default.
    const body = parseRequest(StopTaskBody, req.body ?? {}, 'body');
    res.json(await supervisor.stopTask(taskId, body.reason));
  });

  // A worker renewing its sandbox token before it expires (the guard admits only that sandbox's own token).
  router.post('/api/v1/sandboxes/:sandboxId/token', async (req, res) => {
    const { sandboxId } = parseRequest(SandboxParams, req.params, 'params');
    res.set('cache-control', 'no-store').json(await supervisor.renewSandboxToken(sandboxId));
  });

  // The original's sandbox callbacks: a worker reads its task and reports it done or failed.
  router.get('/api/v1/sandboxes/:sandboxId/task', async (req, res) => {
    const { sandboxId } = parseRequest(SandboxParams, req.params, 'params');
    res.set('cache-control', 'no-store').json(await supervisor.getSandboxTask(sandboxId));
  });

  router.post('/api/v1/sandboxes/:sandboxId/task-complete', jsonBody(bodyLimit), async (req, res) => {
    const { sandboxId } = parseRequest(SandboxParams, req.params, 'params');
    const body = parseRequest(TaskCompleteBody, requireJsonBody(req.body), 'body');
    res.json(await supervisor.completeSandboxTask(sandboxId, body));
  });

  return router;
}
