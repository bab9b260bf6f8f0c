import { IdempotencyKey, MessageBody, MessageDrainQuery, SandboxId } from '@sandbox-relay/contracts';
import { jsonBody, parseRequest, requireJsonBody } from '@sandbox-relay/service-kit';
import { Router } from 'express';
import { z } from 'zod';
import type { MessageService } from './message.service';

const SandboxParams = z.object({ sandboxId: SandboxId });
const Headers = z.object({ 'idempotency-key': IdempotencyKey.optional() });

/** The message edge: people and services queue, the sandbox's worker drains. */
export function messageRouter(service: MessageService, { bodyLimit }: { bodyLimit: string }): Router {
  const router = Router();

  router.post('/api/v1/sandboxes/:sandboxId/messages', jsonBody(bodyLimit), async (req, res) => {
    const { sandboxId } = parseRequest(SandboxParams, req.params, 'params');
    const headers = parseRequest(Headers, { 'idempotency-key': req.get('idempotency-key') }, 'headers');
    const body = parseRequest(MessageBody, requireJsonBody(req.body), 'body');
    res.status(200).json(await service.queue({ sandboxId, body, idempotencyKey: headers['idempotency-key'], sender: 'http' }));
  });

  router.get('/api/v1/sandboxes/:sandboxId/messages', async (req, res) => {
    const { sandboxId } = parseRequest(SandboxParams, req.params, 'params');
    const query = parseRequest(MessageDrainQuery, req.query, 'query');
    const messages = query.since === undefined ? await service.drain(sandboxId, query.limit) : await service.redeliver(sandboxId, query.since, query.limit);
    res.set('cache-control', 'no-store').json(messages);
  });

  return router;
}
