import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { ROOT } from './apps';
import { exportedSeries, metricNamesIn } from './metrics-catalog';

const RULES = path.join(ROOT, 'deploy/prometheus/alerts.yaml');
const RULE_TESTS = path.join(ROOT, 'deploy/prometheus/alerts.test.yaml');

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
  annotations: { summary: string; description: string };
}
const rules = (parse(readFileSync(RULES, 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap(
  (group) => group.rules,
);
const ruleTests = parse(readFileSync(RULE_TESTS, 'utf8')) as {
  tests: Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
};

/** Debian's promtool, installed by tools/promtool.mjs when missing (as root; otherwise it says how). */
function promtool(): string {
  const found = spawnSync(process.execPath, [path.join(ROOT, 'tools/promtool.mjs')], { encoding: 'utf8' });
  if (found.status !== 0) throw new Error(found.stderr);
  return found.stdout.trim();
}

function run(args: string[], cwd = ROOT): { status: number | null; out: string } {
  const result = spawnSync(promtool(), args, { cwd, encoding: 'utf8' });
  return { status: result.status, out: `${result.stdout}${result.stderr}` };
}

describe('the Prometheus alert rules', () => {
  it('pass `promtool check rules`', () => {
    const { status, out } = run(['check', 'rules', RULES]);
    expect(out).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(status).toBe(0);
  });

  it('fire on synthetic series under `promtool test rules`, each alert at least once', () => {
    const { status, out } = run(['test', 'rules', path.basename(RULE_TESTS)], path.dirname(RULE_TESTS));
    expect(out).toContain('SUCCESS');
    expect(status).toBe(0);
    const fired = new Set(
      ruleTests.tests.flatMap((test) =>
        test.alert_rule_test.filter((check) => check.exp_alerts.length > 0).map((check) => check.alertname),
      ),
    );
    expect([...fired].sort()).toEqual(rules.map((rule) => rule.alert).sort());
  });

  it('fail `promtool test rules` when an alert is expected that its series do not fire (the test is not vacuous)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'relay-alerts-'));
    try {
      writeFileSync(path.join(dir, 'alerts.yaml'), readFileSync(RULES));
      const healthy = {
        rule_files: ['alerts.yaml'],
        evaluation_interval: '1m',
        tests: [
          {
            interval: '1m',
            input_series: [{ series: 'relay_ready{job="ingest",instance="i"}', values: '1x10' }],
            alert_rule_test: [
              {
                eval_time: '5m',
                alertname: 'RelayNotReady',
                exp_alerts: [{ exp_labels: { severity: 'critical', job: 'ingest', instance: 'i' } }],
              },
            ],
          },
        ],
      };
      writeFileSync(path.join(dir, 'healthy.test.yaml'), stringify(healthy));
      const { status, out } = run(['test', 'rules', 'healthy.test.yaml'], dir);
      expect(status).not.toBe(0);
      expect(out).toContain('FAILED');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('cover readiness, the canary, backlogs, restart storms and publish failures, on metrics the services export, each with a severity and a summary', async () => {
    const series = await exportedSeries();
    expect(rules.map((rule) => rule.alert)).toEqual(
      expect.arrayContaining([
        'RelayNotReady',
        'RelayCanarySilent',
        'RelayEventBacklogGrowing',
        'RelayQueueBacklogGrowing',
        'RelayRestartStorm',
        'RelayPublishFailing',
      ]),
    );
    for (const rule of rules) {
      expect(metricNamesIn(rule.expr).filter((name) => !series.has(name))).toEqual([]);
      expect(metricNamesIn(rule.expr).length).toBeGreaterThan(0);
      expect(['critical', 'warning']).toContain(rule.labels.severity);
      expect(rule.annotations.summary.length).toBeGreaterThan(10);
    }
  });

  it('parse every PromQL expression of the Grafana board (promtool checks them as recording rules)', () => {
    const board = JSON.parse(readFileSync(path.join(ROOT, 'deploy/grafana/sandbox-relay.json'), 'utf8')) as {
      panels: Array<{ targets?: Array<{ expr: string }> }>;
    };
    const exprs = board.panels
      .flatMap((panel) => panel.targets ?? [])
      .map((target) => target.expr.replaceAll('$__rate_interval', '5m'));
    const dir = mkdtempSync(path.join(tmpdir(), 'relay-board-'));
    try {
      const file = path.join(dir, 'board.rules.yaml');
      writeFileSync(
        file,
        stringify({
          groups: [{ name: 'board', rules: exprs.map((expr, index) => ({ record: `board:expr_${index}`, expr })) }],
        }),
      );
      const { status, out } = run(['check', 'rules', file]);
      expect(out).toContain(`SUCCESS: ${exprs.length} rules found`);
      expect(status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
