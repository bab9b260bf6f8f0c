import {
  Counter,
  Gauge,
  Histogram,
  collectDefaultMetrics,
  register,
  type CounterConfiguration,
  type GaugeConfiguration,
  type HistogramConfiguration,
} from 'prom-client';
import type { RequestHandler } from 'express';

/**
 * Prometheus metrics. One registry per process (prom-client's default): the standalone runs every
 * service in one process and exposes all their metrics on its one `/metrics`, exactly as each
 * Deployment exposes its own. Metric names are prefixed `relay_` (ours) or left as prom-client's
 * (`process_*`, `nodejs_*`). Labels are always drawn from small fixed sets (route templates, status
 * codes, event kinds, outcomes): never a sandbox id, a message id or anything a client chooses.
 */
export const metricsRegistry = register;

let defaultsCollected = false;

/** Process metrics (CPU, memory, event-loop lag, GC, handles); idempotent. */
export function collectProcessMetrics(): void {
  if (defaultsCollected) return;
  defaultsCollected = true;
  collectDefaultMetrics({ register });
}

/**
 * Get-or-create: a metric is defined where it is counted (module scope), and a module loaded twice
 * in one process (two services in the standalone share a lib) must not register it twice.
 */
export function counter<L extends string = string>(config: CounterConfiguration<L>): Counter<L> {
  return (
    (register.getSingleMetric(config.name) as Counter<L> | undefined) ??
    new Counter({ ...config, registers: [register] })
  );
}

export function gauge<L extends string = string>(config: GaugeConfiguration<L>): Gauge<L> {
  return (
    (register.getSingleMetric(config.name) as Gauge<L> | undefined) ?? new Gauge({ ...config, registers: [register] })
  );
}

export function histogram<L extends string = string>(config: HistogramConfiguration<L>): Histogram<L> {
  return (
    (register.getSingleMetric(config.name) as Histogram<L> | undefined) ??
    new Histogram({ ...config, registers: [register] })
  );
}

/** A value read at scrape time; undefined (or a throw) means "no reading from this source now". */
export type GaugeSource = () => number | undefined | Promise<number | undefined>;

export interface SampledGauge {
  /**
   * Adds a source (a running component's live value), optionally under fixed labels (a queue's name,
   * never anything a client chooses); the returned function removes it again.
   */
  add(source: GaugeSource, labels?: Record<string, string>): () => void;
}

/**
 * A gauge read at scrape time as the sum of its sources (per label set): one per running component
 * (one gateway, one event log, one queue). Components register on start and unregister on close, so
 * a process that runs several (tests, the standalone) reports their total and a closed one no longer counts.
 */
export function sampledGauge(config: { name: string; help: string; labelNames?: string[] }): SampledGauge {
  const existing = sampledGauges.get(config.name);
  if (existing) return existing;
  const sources = new Map<GaugeSource, Record<string, string>>();
  new Gauge({
    name: config.name,
    help: config.help,
    labelNames: config.labelNames ?? [],
    registers: [register],
    async collect() {
      const readings = await Promise.all(
        [...sources].map(async ([source, labels]) => {
          try {
            return { labels, value: await source() };
          } catch {
            return { labels, value: undefined };
          }
        }),
      );
      this.reset();
      const sums = new Map<string, { labels: Record<string, string>; sum: number }>();
      for (const { labels, value } of readings) {
        const key = JSON.stringify(labels);
        const entry = sums.get(key) ?? { labels, sum: 0 };
        entry.sum += value ?? 0;
        sums.set(key, entry);
      }
      if (sums.size === 0 && (config.labelNames ?? []).length === 0) this.set(0);
      for (const { labels, sum } of sums.values()) this.set(labels, sum);
    },
  });
  const sampled: SampledGauge = {
    add(source, labels = {}) {
      sources.set(source, labels);
      return () => void sources.delete(source);
    },
  };
  sampledGauges.set(config.name, sampled);
  return sampled;
}
const sampledGauges = new Map<string, SampledGauge>();

/** The methods we label by; anything else is `other`, so a client cannot invent label values. */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

const httpRequests = counter<'method' | 'route' | 'status'>({
  name: 'relay_http_requests_total',
  help: 'HTTP requests answered, by method, route template and status code.',
  labelNames: ['method', 'route', 'status'],
});

const httpDuration = histogram<'method' | 'route' | 'status'>({
  name: 'relay_http_request_duration_seconds',
  help: 'Time from receiving an HTTP request to finishing its answer, by method, route template and status code.',
  labelNames: ['method', 'route', 'status'],
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
});

/**
 * Counts and times every request by its route *template* (`/api/v1/sandboxes/:sandboxId/events`),
 * never its concrete path: a request that matched no route is labelled `unmatched`.
 */
export function httpMetrics(): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const routePath = (req.route as { path?: unknown } | undefined)?.path;
      const route = typeof routePath === 'string' ? `${req.baseUrl}${routePath}` : 'unmatched';
      const labels = {
        method: KNOWN_METHODS.has(req.method) ? req.method : 'other',
        route,
        status: String(res.statusCode),
      };
      httpRequests.inc(labels);
      httpDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  };
}

/** `GET /metrics` in Prometheus' text format. */
export function metricsHandler(): RequestHandler {
  return async (_req, res, next) => {
    try {
      const body = await register.metrics();
      res.setHeader('content-type', register.contentType);
      res.end(body);
    } catch (error) {
      next(error);
    }
  };
}
