import type { Duplex } from 'node:stream';
import type { z } from 'zod';

export type ParsedQuery<T> =
  { success: true; data: T } | { success: false; details: Array<{ field: string; message: string }> };

/**
 * A WebSocket connection query, each parameter given at most once: lists are comma-separated in one
 * value. A repeated parameter (`entity_ids=a&entity_ids=b`, as many clients encode lists) is refused
 * rather than reduced to one of its values, which would silently subscribe to less than was asked.
 * Details name fields, never values (the original path's query carries a token).
 */
export function parseQuery<S extends z.ZodObject>(schema: S, params: URLSearchParams): ParsedQuery<z.infer<S>> {
  const repeated = Object.keys(schema.shape).filter((key) => params.getAll(key).length > 1);
  if (repeated.length > 0) {
    return {
      success: false,
      details: repeated.map((key) => ({
        field: `query.${key}`,
        message: 'given more than once; list values comma-separated in one parameter',
      })),
    };
  }
  const parsed = schema.safeParse(Object.fromEntries(params));
  if (parsed.success) return { success: true, data: parsed.data };
  return {
    success: false,
    details: parsed.error.issues.map((issue) => ({
      field: ['query', ...issue.path.map(String)].join('.'),
      message: issue.message,
    })),
  };
}

export function parseTarget(target: string | undefined): URL | undefined {
  try {
    return new URL(target ?? '/', 'http://gateway');
  } catch {
    return undefined;
  }
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const REASONS: Record<number, string> = { 400: 'Bad Request', 404: 'Not Found', 503: 'Service Unavailable' };

export function rejectUpgrade(socket: Duplex, status: number, code: string, message: string, details?: unknown): void {
  // Node's http server took its listeners off the socket when it handed it over for the upgrade: a
  // client that resets it while the answer is written would otherwise crash the process.
  socket.on('error', () => undefined);
  const body = JSON.stringify({ error: { code, message, details } });
  const reason = REASONS[status] ?? 'Error';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
