import { randomUUID } from 'node:crypto';
import { OPENAPI_PATH, openApiDocumentForProcess } from '@sandbox-relay/contracts';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import { AppError } from './errors';
import { collectProcessMetrics, httpMetrics, metricsHandler } from './metrics';
import type { Readiness } from './readiness';

export interface HttpAppOptions {
  logger: Logger;
  readiness: Readiness;
  /** Reported by /readyz so a rollout can be checked replica by replica. */
  version?: string;
  /** Serve `GET /metrics` (Prometheus) and count requests; on unless a test turns it off. */
  metrics?: boolean;
  /**
   * The services this process hosts: `GET /api/v1/openapi.json` then answers their part of the OpenAPI
   * document (the whole edge's with the gateway among them). Absent: no document.
   */
  openapi?: readonly string[];
}

declare module 'node:http' {
  interface IncomingMessage {
    /** The request id: the caller's `x-request-id` if well-formed, else a new UUID. */
    id?: string;
  }
}

const HEALTH_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * An express app with what every service needs before its own routes: request ids, request logging,
 * `/healthz` (process alive, no I/O), `/readyz` (dependencies reachable, not draining) and `/metrics`
 * (Prometheus: process metrics, requests by route template, and every metric the service defines).
 * Add routes, then call `finishHttpApp` to install the JSON 404 and error handlers.
 */
export function createHttpApp({
  logger,
  readiness,
  version = '0.0.0',
  metrics = true,
  openapi,
}: HttpAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  // An API of writes and live reads: no client revalidates with If-None-Match, and hashing every
  // answer body cost the ingest's single-event POST about 1 % of its CPU. Static files keep theirs.
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.locals.logger = logger;
  app.use(requestLogging(logger));
  if (metrics) {
    collectProcessMetrics();
    app.use(httpMetrics());
    app.get('/metrics', metricsHandler());
  }
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const report = await readiness.report();
    res.status(report.ready ? 200 : 503).json({ ...report, version });
  });
  if (openapi) {
    const document = openApiDocumentForProcess(openapi);
    app.get(OPENAPI_PATH, (_req, res) => {
      res.setHeader('cache-control', 'no-cache');
      res.json(document);
    });
  }
  return app;
}

/**
 * Request ids and request logs. Not pino-http: it builds two child loggers per request and serializes
 * the request into them even when nothing is logged, which cost the ingest about 15 % of its CPU
 * (bench/ingest.ts, CPU profile). Here a request costs an id and a 'finish' listener; the log line is
 * built only when its level is enabled. Successful requests log at debug: an ingest at thousands of
 * events/s must not drown its logs; 4xx log at warn, 5xx at error.
 */
function requestLogging(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const incoming = req.headers['x-request-id'];
    const id = typeof incoming === 'string' && /^[\w.-]{1,128}$/.test(incoming) ? incoming : randomUUID();
    req.id = id;
    res.setHeader('x-request-id', id);
    if (HEALTH_PATHS.has(req.path)) return next();
    const started = performance.now();
    res.once('finish', () => {
      const level = res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'debug';
      if (!logger.isLevelEnabled(level)) return;
      const ms = Math.round((performance.now() - started) * 10) / 10;
      logger[level](
        { reqId: id, method: req.method, url: withoutToken(req.originalUrl), status: res.statusCode, ms },
        'request completed',
      );
    });
    next();
  };
}

const TOKEN_PARAM = /([?&]token=)[^&#]*/gi;
const HAS_TOKEN_PARAM = /[?&]token=/i;

/**
 * The request target with any `token` query parameter's value replaced. The original system's
 * frontend passes its token in the WebSocket URL (`/api/v1/ws/events?token=…`); the same URL sent as
 * a plain GET (a proxy that dropped the upgrade) is answered here, and its log line must not keep it.
 */
export function withoutToken(url: string): string {
  return HAS_TOKEN_PARAM.test(url) ? url.replace(TOKEN_PARAM, '$1[redacted]') : url;
}

/** JSON body parsing with a size limit; oversize answers 413, malformed JSON 400 (see the error handler). */
export function jsonBody(limit: string | number): RequestHandler {
  return express.json({ limit, strict: false });
}

export function finishHttpApp(app: Express): Express {
  const logger = (app.locals as { logger: Logger }).logger;
  app.use((req, _res, next) => next(new AppError(404, 'not_found', `no route for ${req.method} ${req.path}`)));
  app.use(errorHandler(logger));
  return app;
}

/** body-parser's error types, mapped to our error vocabulary. */
const BODY_PARSER_ERRORS: Record<string, { status: number; code: string; message: string }> = {
  'entity.parse.failed': { status: 400, code: 'malformed_json', message: 'request body is not valid JSON' },
  'entity.too.large': { status: 413, code: 'payload_too_large', message: 'request body exceeds the size limit' },
  'encoding.unsupported': { status: 415, code: 'unsupported_encoding', message: 'unsupported content encoding' },
  'charset.unsupported': { status: 415, code: 'unsupported_charset', message: 'unsupported charset' },
  'request.aborted': { status: 400, code: 'request_aborted', message: 'request aborted by the client' },
};

const errorHandler =
  (logger: Logger): ErrorRequestHandler =>
  (error, req, res, next) => {
    if (res.headersSent) return next(error);
    const requestId = String(req.id ?? '');
    const parserError = typeof error?.type === 'string' ? BODY_PARSER_ERRORS[error.type] : undefined;
    if (parserError) {
      const details = parserError.status === 413 ? { limit: error.limit } : undefined;
      res
        .status(parserError.status)
        .json({ error: { code: parserError.code, message: parserError.message, details, requestId } });
      return;
    }
    if (error instanceof AppError) {
      if (error.status >= 500) logger.error({ err: error, reqId: requestId }, error.message);
      const message = error.expose ? error.message : 'internal error';
      res.status(error.status).json({ error: { code: error.code, message, details: error.details, requestId } });
      return;
    }
    // Other client errors express and body-parser raise carry their own 4xx status: a path whose
    // percent-encoding does not decode (`/sandboxes/%zz`), a body that does not inflate as its
    // Content-Encoding says. They are the client's mistake, never a 500.
    const clientStatus = clientErrorStatus(error);
    if (clientStatus !== undefined) {
      const message =
        error instanceof URIError
          ? 'malformed percent-encoding in the path'
          : error?.expose && typeof error.message === 'string'
            ? error.message
            : 'bad request';
      res
        .status(clientStatus)
        .json({ error: { code: clientStatus === 400 ? 'bad_request' : 'client_error', message, requestId } });
      return;
    }
    const errorId = randomUUID();
    logger.error({ err: error, errorId, reqId: requestId }, 'unhandled error');
    res.status(500).json({ error: { code: 'internal', message: 'internal error', errorId, requestId } });
  };

function clientErrorStatus(error: unknown): number | undefined {
  const { status, statusCode } = (error ?? {}) as { status?: unknown; statusCode?: unknown };
  const value = typeof status === 'number' ? status : statusCode;
  return typeof value === 'number' && value >= 400 && value < 500 ? value : undefined;
}
