// Wire shapes of the HTTP edge that belong to no one service: the error answer every route may give,
// and the health and readiness answers every app serves. The route registry (routes.ts) and the OpenAPI
// document built from it (openapi.ts) refer to these and to the services' own schemas.
import { z } from 'zod';

/** One failing field of a refused request (`body.event_type`, `query.limit`, `params.sandboxId`). */
export const FieldIssueAnswer = z.object({ field: z.string(), message: z.string() });
export type FieldIssueAnswer = z.infer<typeof FieldIssueAnswer>;

/**
 * Every error answer of every service: `code` is stable and machine-readable, `message` is for people,
 * `details` is code-specific (`validation_failed`: a list of `{field, message}`; `payload_too_large`:
 * `{limit}`; GitHub failures: `{github_status}`), `requestId` echoes `x-request-id`; a 500 adds `errorId`,
 * the id of its log line.
 */
export const ErrorAnswer = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.unknown().optional(),
    requestId: z.string(),
    errorId: z.string().optional(),
  }),
});
export type ErrorAnswer = z.infer<typeof ErrorAnswer>;

/** `GET /healthz`: the process is alive (no I/O). */
export const HealthAnswer = z.object({ status: z.literal('ok') });
export type HealthAnswer = z.infer<typeof HealthAnswer>;

/** `GET /readyz`: each dependency's check, and the app's version; 503 with the same shape when not ready. */
export const ReadinessAnswer = z.object({
  ready: z.boolean(),
  status: z.enum(['ready', 'starting', 'draining', 'unavailable']),
  checks: z.record(z.string(), z.object({ ok: z.boolean(), error: z.string().optional(), ms: z.number() })),
  version: z.string(),
});
export type ReadinessAnswer = z.infer<typeof ReadinessAnswer>;

/** Where every app serves its part of the OpenAPI document (the gateway and the standalone: the whole edge). */
export const OPENAPI_PATH = '/api/v1/openapi.json';
