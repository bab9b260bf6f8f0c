import type { z } from 'zod';
import { BadRequestError, ValidationError, type FieldIssue } from './errors';

/** Which part of the request a value came from; it prefixes field names in error answers. */
export type RequestPart = 'body' | 'query' | 'params' | 'headers';

/**
 * Parses `value` or throws a ValidationError naming every failing field (`body.event_type`,
 * `query.limit`, ...). Bodies and queries answer 422; path parameters answer 400 because a malformed
 * path names no resource at all.
 */
export function parseRequest<T extends z.ZodType>(schema: T, value: unknown, part: RequestPart): z.infer<T> {
  // The issues carry their input, so an absent field ("is required") is told from one of the wrong type.
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const issues: FieldIssue[] = result.error.issues.map((issue) => ({
    field: [part, ...issue.path.map(String)].join('.'),
    message: issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : issue.message,
  }));
  throw new ValidationError(issues, part === 'params' ? 400 : 422);
}

/** Rejects a request whose JSON body was absent (wrong or missing Content-Type). */
export function requireJsonBody(body: unknown): unknown {
  if (body === undefined) throw new BadRequestError('expected a JSON body with Content-Type: application/json');
  return body;
}
