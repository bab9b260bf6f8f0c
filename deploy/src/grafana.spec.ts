import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './apps';
import { definedRelayMetrics, exportedSeries, metricNamesIn } from './metrics-catalog';

interface Target {
  expr: string;
  refId: string;
  datasource?: { uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: Target[];
  datasource?: { uid?: string };
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query?: string }> };
}

const board = JSON.parse(readFileSync(path.join(ROOT, 'deploy/grafana/sandbox-relay.json'), 'utf8')) as Dashboard;
const queryPanels = board.panels.filter((panel) => panel.type !== 'row');
const exprs = queryPanels.flatMap((panel) =>
  (panel.targets ?? []).map((target) => ({ panel: panel.title, expr: target.expr })),
);

describe('the Grafana dashboard', () => {
  it('names only metrics the services export, and the registry holds every relay_ metric the code defines', async () => {
    const series = await exportedSeries();
    expect([...definedRelayMetrics()].filter((name) => !series.has(name) && !series.has(`${name}_bucket`))).toEqual([]);
    const unknown = exprs.flatMap(({ panel, expr }) =>
      metricNamesIn(expr)
        .filter((name) => !series.has(name))
        .map((name) => `${panel}: ${name}`),
    );
    expect(unknown).toEqual([]);
    // Every expression selects at least one metric (the extraction is not vacuous).
    for (const { expr } of exprs) expect(metricNamesIn(expr).length).toBeGreaterThan(0);
  });

  it('covers what an operator watches: events in and out, POST and POST→frame latency, sockets, backlog, restarts, interventions, queue depths, readiness, the canary', () => {
    const used = new Set(exprs.flatMap(({ expr }) => metricNamesIn(expr)));
    for (const name of [
      'relay_events_ingested_total',
      'relay_events_published_total',
      'relay_ws_frames_sent_total',
      'relay_http_request_duration_seconds_bucket',
      'relay_ws_event_delivery_seconds_bucket',
      'relay_ws_clients_open',
      'relay_event_log_queued_events',
      'relay_supervisor_restarts_total',
      'relay_guardian_interventions_total',
      'relay_queue_waiting_jobs',
      'relay_ready',
      'relay_canary_age_seconds',
    ])
      expect(used).toContain(name);
  });

  it('is a well-formed dashboard: uid, title, schema version, unique ids and refIds, panels on the 24-column grid, every query on the datasource variable', () => {
    expect(board.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    expect(board.title).toBe('Sandbox Relay');
    expect(board.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(board.templating.list).toContainEqual(
      expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }),
    );
    expect(new Set(board.panels.map((panel) => panel.id)).size).toBe(board.panels.length);
    for (const panel of board.panels) {
      expect(panel.gridPos.x + panel.gridPos.w).toBeLessThanOrEqual(24);
      expect(panel.gridPos.h).toBeGreaterThan(0);
    }
    for (const panel of queryPanels) {
      expect(panel.datasource?.uid).toBe('${datasource}');
      expect(panel.targets?.length).toBeGreaterThan(0);
      const refIds = panel.targets!.map((target) => target.refId);
      expect(new Set(refIds).size).toBe(refIds.length);
      // Parentheses and braces balance in every expression.
      for (const { expr } of panel.targets!) {
        for (const [open, close] of [
          ['(', ')'],
          ['{', '}'],
          ['[', ']'],
        ] as const)
          expect(expr.split(open).length).toBe(expr.split(close).length);
      }
    }
  });

  it('reads metric names out of PromQL, leaving out functions, labels, keywords, ranges and variables', () => {
    expect(
      metricNamesIn(
        'histogram_quantile(0.99, sum by (le) (rate(relay_x_bucket{route=~"/a/:b", status!="5"}[$__rate_interval])))',
      ),
    ).toEqual(['relay_x_bucket']);
    expect(
      metricNamesIn('sum(a_total) - sum(b_total) > 5 and on (queue) deriv(c[5m]) > 0 unless d offset 5m').sort(),
    ).toEqual(['a_total', 'b_total', 'c', 'd']);
  });
});
