import { IdempotencyKey, MessageBody, MessageDrainQuery, SandboxId } from '@sandbox-relay/contracts';
import { ACTIONS, type EdgeAuth, type SandboxRateLimiter } from '@sandbox-relay/auth';
import { jsonBody, parseRequest, requireJsonBody } from '@sandbox-relay/service-kit';
import { Router } from 'express';
import { z } from 'zod';
import type { MessageService } from './message.service';

const SandboxParams = z.object({ sandboxId: SandboxId });
const Headers = z.object({ 'idempotency-key': IdempotencyKey.optional() });

export interface MessageRouteOptions {
  bodyLimit: string;
  /** Operators send; the sandbox itself (and operators) drain. */
  auth: EdgeAuth;
  /** The per-sandbox budget of message POSTs, shared by replicas through Redis. */
  rateLimiter: SandboxRateLimiter;
}

/** The message edge: people and services queue, the sandbox's worker drains. */
export function messageRouter(service: MessageService, { bodyLimit, auth, rateLimiter }: MessageRouteOptions): Router {
  const router = Router();
  const send = [
    auth.require(ACTIONS.MESSAGES_SEND, { sandboxParam: 'sandboxId' }),
    rateLimiter.middleware('sandboxId'),
  ];
  const drain = auth.require(ACTIONS.MESSAGES_DRAIN, { sandboxParam: 'sandboxId' });

  router.post('/api/v1/sandboxes/:sandboxId/messages', ...send, jsonBody(bodyLimit), async (req, res) => {
    const { sandboxId } = parseRequest(SandboxParams, req.params, 'params');
    const headers = parseRequest(Headers, { 'idempotency-key': req.get('idempotency-key') }, 'headers');
    const body = parseRequest(MessageBody, requireJsonBody(req.body), 'body');
    res
      .status(200)
      .json(await service.queue({ sandboxId, body, idempotencyKey: headers['idempotency-key'], sender: 'http' }));
  });

  router.get('/api/v1/sandboxes/:sandboxId/messages', drain, async (req, res) => {
    const { sandboxId } = parseRequest(SandboxParams, req.params, 'params');
    const query = parseRequest(MessageDrainQuery, req.query, 'query');
    const messages =
      query.since === undefined
        ? await service.drain(sandboxId, query.limit)
        : await service.redeliver(sandboxId, query.since, query.limit);
    res.set('cache-control', 'no-store').json(messages);
  });

  return router;
}
