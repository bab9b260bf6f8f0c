import {
  ENTITY_TYPES,
  EventBatchBody,
  EventBody,
  EventHistoryQuery,
  OmoiosEventListQuery,
  SandboxId,
  TrajectoryQuery,
  isOmoiosHistoryQuery,
  serializeEventData,
  type EventBatchAccepted,
  type EventHistoryPage,
} from '@sandbox-relay/contracts';
import { ACTIONS, type EdgeAuth, type SandboxRateLimiter } from '@sandbox-relay/auth';
import { jsonBody, parseRequest, requireJsonBody } from '@sandbox-relay/service-kit';
import type { EventLog, EventRepository, NewEvent } from '@sandbox-relay/store';
import { Router } from 'express';
import { z } from 'zod';
import { eventsIngested, ingestBatchSize } from './ingest.metrics';
import { omoiosEventList, trajectorySummary } from './omoios-history';

export interface IngestRouteDeps {
  eventLog: EventLog;
  events: EventRepository;
  limits: { eventBody: string; batchBody: string };
  /** Who may call: a sandbox token writes its own events; viewers and operators read history. */
  auth: EdgeAuth;
  /** The per-sandbox budget of event POSTs (single and batch alike), shared by replicas through Redis. */
  rateLimiter: SandboxRateLimiter;
}

const SandboxParams = z.object({ sandboxId: SandboxId });

function toNewEvent(sandboxId: string, body: EventBody): NewEvent {
  return {
    entityType: ENTITY_TYPES.SANDBOX,
    entityId: sandboxId,
    eventType: body.event_type,
    data: body.event_data,
    dataJson: serializeEventData(body.event_data),
    source: body.source ?? null,
  };
}

/** The worker-facing edge: events in (single and batch), history out (the relay's way and the original's, and its trajectory). */
export function ingestRouter({ eventLog, events, limits, auth, rateLimiter }: IngestRouteDeps): Router {
  const router = Router();
  // Guards run before the body is read: a refused request costs no parsing and no budget.
  const write = [
    auth.require(ACTIONS.EVENTS_WRITE, { sandboxParam: 'sandboxId' }),
    rateLimiter.middleware('sandboxId'),
  ];
  const read = auth.require(ACTIONS.EVENTS_READ, { sandboxParam: 'sandboxId' });

  router.post('/api/v1/sandboxes/:sandboxId/events', ...write, jsonBody(limits.eventBody), async (req, res) => {
    const { sandboxId } = parseRequest(SandboxParams, req.params, 'params');
    const body = parseRequest(EventBody, requireJsonBody(req.body), 'body');
    const [stored] = await eventLog.append([toNewEvent(sandboxId, body)]);
    eventsIngested.inc({ endpoint: 'single' });
    res.status(200).json(stored);
  });

  router.post('/api/v1/sandboxes/:sandboxId/events/batch', ...write, jsonBody(limits.batchBody), async (req, res) => {
    const { sandboxId } = parseRequest(SandboxParams, req.params, 'params');
    const batch = parseRequest(EventBatchBody, requireJsonBody(req.body), 'body');
    const stored = await eventLog.append(batch.map((body) => toNewEvent(sandboxId, body)));
    eventsIngested.inc({ endpoint: 'batch' }, stored.length);
    ingestBatchSize.observe(stored.length);
    const answer: EventBatchAccepted = { count: stored.length, ids: stored.map((event) => event.id) };
    res.status(200).json(answer);
  });

  router.get('/api/v1/sandboxes/:sandboxId/events', read, async (req, res) => {
    const { sandboxId } = parseRequest(SandboxParams, req.params, 'params');
    // `offset` is the original system's (OmoiOS) paging: it gets the original's answer, newest first.
    if (isOmoiosHistoryQuery(req.query)) {
      res.json(await omoiosEventList(events, sandboxId, parseRequest(OmoiosEventListQuery, req.query, 'query')));
      return;
    }
    const query = parseRequest(EventHistoryQuery, req.query, 'query');
    const page = await events.list({
      entityTypes: [ENTITY_TYPES.SANDBOX],
      entityIds: [sandboxId],
      eventTypes: query.event_type,
      after: query.after,
      before: query.before,
      order: query.order,
      limit: query.limit,
    });
    // A full page may have more behind it; its last event is the cursor in the direction read.
    const cursor = page.length === query.limit ? (page[page.length - 1]?.id ?? null) : null;
    const answer: EventHistoryPage =
      query.order === 'desc'
        ? { events: page, next_after: null, next_before: cursor }
        : { events: page, next_after: cursor };
    res.json(answer);
  });

  // The original's trajectory view (its frontend's sandbox page): events without heartbeats, heartbeats summarised.
  router.get('/api/v1/sandboxes/:sandboxId/trajectory', read, async (req, res) => {
    const { sandboxId } = parseRequest(SandboxParams, req.params, 'params');
    res.json(await trajectorySummary(events, sandboxId, parseRequest(TrajectoryQuery, req.query, 'query')));
  });

  return router;
}
