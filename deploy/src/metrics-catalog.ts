// The Prometheus metrics the services really export, read from prom-client's registry after loading
// every service (each app's index loads its service module, and with it every metric it counts), and
// the metric names a PromQL expression uses, so the Grafana board and the alert rules are checked
// against the code (grafana.spec.ts, alerts.spec.ts).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import '@sandbox-relay/ingest';
import '@sandbox-relay/gateway';
import '@sandbox-relay/message-queue';
import '@sandbox-relay/guardian';
import '@sandbox-relay/supervisor';
import '@sandbox-relay/branch-workflow';
import '@sandbox-relay/bus';
import { collectProcessMetrics, metricsRegistry } from '@sandbox-relay/service-kit';
import { ROOT } from './apps';

/** Every series name the registry exposes: a histogram's `_bucket`, `_sum`, `_count`, a summary's `_sum`, `_count`. */
export async function exportedSeries(): Promise<Set<string>> {
  collectProcessMetrics();
  const names = new Set<string>();
  for (const metric of await metricsRegistry.getMetricsAsJSON()) {
    const type = String(metric.type);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${metric.name}${suffix}`);
    else if (type === 'summary') for (const suffix of ['', '_sum', '_count']) names.add(`${metric.name}${suffix}`);
    else names.add(metric.name);
  }
  return names;
}

/** The `relay_*` names defined in the sources (`name: 'relay_…'`), to prove the registry holds them all. */
export function definedRelayMetrics(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir)) {
      if (entry === 'node_modules') continue;
      const full = path.join(dir, entry);
      if (statSync(full).isDirectory()) walk(full);
      else if (entry.endsWith('.ts') && !entry.endsWith('.spec.ts')) {
        for (const [, name] of readFileSync(full, 'utf8').matchAll(/name: '(relay_[a-z_]+)'/g)) names.add(name!);
      }
    }
  };
  for (const kind of ['apps', 'libs']) walk(path.join(ROOT, kind));
  return names;
}

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'inf',
  'nan',
]);

/**
 * The metric names a PromQL expression selects: identifiers that are not functions (followed by `(`),
 * label names (inside `{…}` or a `by (…)` clause), keywords, durations or Grafana variables.
 */
export function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""') // string literals
    .replace(/\{[^}]*\}/g, '') // label matchers
    .replace(/\[[^\]]*\]/g, '') // ranges and subqueries
    .replace(/\$\{?\w+\}?/g, '') // Grafana variables ($__rate_interval)
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const name = match[0];
    const after = stripped.slice(match.index + name.length).trimStart();
    if (after.startsWith('(') || KEYWORDS.has(name.toLowerCase())) continue;
    if (/^\d/.test(stripped.slice(match.index - 1, match.index))) continue; // 5m, 1e3
    names.add(name);
  }
  return [...names];
}
