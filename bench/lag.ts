/*
 * Consumer lag benchmark.  Run: npx tsx bench/lag.ts   (≈ 70 s)
 *
 * The standalone (bench/lib/server-child.ts, mode `standalone`) takes single-event POSTs at a fixed LAG_RATE
 * (2,000 events/s, open loop, keep-alive agent with 64 sockets) spread over 1,000 sandboxes for LAG_S s (60).
 * Every 10 s the bench scrapes the standalone's /metrics: the guardian's `relay_guardian_event_lag_seconds`
 * histogram (event stored → applied by the guardian) gives that window's p99 (upper bucket bound), and its
 * count against the events acknowledged so far gives the backlog (acknowledged, not yet seen by the guardian).
 * Targets (issue 16): p99 < 1 s in every window, and the backlog does not grow (last window's ≤ the first's + 1 s
 * of load). The supervisor does not consume the live stream (it reads its sessions' events on each sweep), so
 * it has no live lag to measure here.
 *
 * Options (env): BENCH_LAG_RATE (2000), BENCH_LAG_S (60), BENCH_LAG_WINDOW_S (10), BENCH_KEEP_ROWS=1.
 */
import http from 'node:http';
import { Client as PgClient } from 'pg';
import {
  BENCH_DATABASE_URL,
  bucketQuantileBetween,
  histogramBuckets,
  benchOption,
  cpuPercent,
  fmt1,
  fmtInt,
  keepAlivePoster,
  runBenchmark,
  sleep,
  startServerChild,
  table,
  verdict,
  writeFigures,
  type BenchRedis,
} from './lib/common';

const RATE = benchOption('LAG_RATE', 2000, 500);
const DURATION_S = benchOption('LAG_S', 60, 6);
const WINDOW_S = benchOption('LAG_WINDOW_S', 10, 2);
const SANDBOXES = 1000;
const TARGET_P99_S = 1;
const METRIC = 'relay_guardian_event_lag_seconds';

const runId = `bench-lag-${Date.now().toString(36)}`;
const sandboxIds = Array.from({ length: SANDBOXES }, (_, i) => `${runId}-s${i}`);
const poster = keepAlivePoster(64);
const post = poster.post;

/** Cumulative bucket counts (by upper bound, seconds) and the total count of the lag histogram. */
async function scrape(baseUrl: string): Promise<{ buckets: Map<number, number>; count: number }> {
  const text = await new Promise<string>((resolve, reject) => {
    http
      .get(new URL('/metrics', baseUrl), (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
  const count = new RegExp(`^${METRIC}_count (\\d+)`, 'm').exec(text);
  return { buckets: histogramBuckets(text, METRIC), count: count ? Number(count[1]) : 0 };
}

async function deleteRows(): Promise<void> {
  if (process.env.BENCH_KEEP_ROWS === '1') return;
  const client = new PgClient({ connectionString: BENCH_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DELETE FROM sandbox_events WHERE entity_type = 'sandbox' AND entity_id = ANY($1::text[])`, [
      sandboxIds,
    ]);
    await client.query('VACUUM sandbox_events');
  } finally {
    await client.end();
  }
}

async function run(_redis: BenchRedis): Promise<number> {
  console.log(
    `setup:   standalone in a child process; ${fmtInt(RATE)} single-event POSTs/s (open loop) over ${SANDBOXES} sandboxes ` +
      `for ${DURATION_S} s; the guardian's lag histogram scraped every ${WINDOW_S} s`,
  );
  console.log('');
  const server = await startServerChild('standalone');
  // Scrape once so /metrics has registered everything, and check the probe is there.
  const first = await scrape(server.url);
  if (first.buckets.size === 0) throw new Error(`${METRIC} is not exported by the standalone's /metrics`);

  let sent = 0;
  let acked = 0;
  let failed = 0;
  const pending = new Set<Promise<void>>();
  const start = performance.now();
  const windows: Array<{ p99: number; observed: number; acked: number; backlog: number; cpu: number }> = [];
  let mark = { at: start, scrape: first, cpu: (await server.cpu()).cpu };
  const sampler = (async () => {
    for (let w = 1; w * WINDOW_S <= DURATION_S; w += 1) {
      await sleep(start + w * WINDOW_S * 1000 - performance.now());
      const now = { at: performance.now(), scrape: await scrape(server.url), cpu: (await server.cpu()).cpu };
      windows.push({
        p99: bucketQuantileBetween(mark.scrape.buckets, now.scrape.buckets, 0.99),
        observed: now.scrape.count - mark.scrape.count,
        acked,
        backlog: acked - (now.scrape.count - first.count),
        cpu: cpuPercent(mark.cpu, now.cpu, now.at - mark.at),
      });
      mark = now;
    }
  })();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - start;
      if (elapsed >= DURATION_S * 1000) {
        clearInterval(timer);
        return resolve();
      }
      const due = Math.floor((elapsed / 1000) * RATE) - sent;
      for (let i = 0; i < due; i += 1) {
        const seq = sent++;
        const body = JSON.stringify({
          event_type: 'agent.tool_use',
          event_data: { tool: 'bash', command: `npm test -- ${seq % 97}`, exit_code: 0 },
          source: 'agent',
        });
        const request = post(server.url, `/api/v1/sandboxes/${sandboxIds[seq % SANDBOXES]}/events`, body).then(
          (status) => void (status === 200 ? (acked += 1) : (failed += 1)),
        );
        pending.add(request);
        void request.finally(() => pending.delete(request));
      }
    }, 1);
  });
  await sampler;
  await Promise.all(pending);
  await sleep(1000);
  const final = await scrape(server.url);
  const finalBacklog = acked - (final.count - first.count);
  await server.close();
  poster.close();
  await deleteRows();

  console.log(
    table(
      [
        'window',
        'guardian lag p99 (bucket bound)',
        'events seen by guardian',
        'acked so far',
        'backlog',
        'server CPU %',
      ],
      windows.map((w, i) => [
        `${i * WINDOW_S}–${(i + 1) * WINDOW_S} s`,
        `≤ ${w.p99} s`,
        fmtInt(w.observed),
        fmtInt(w.acked),
        fmtInt(w.backlog),
        fmtInt(w.cpu),
      ]),
    ),
  );
  console.log(
    `sent ${fmtInt(sent)}, acknowledged ${fmtInt(acked)} (${fmt1(acked / DURATION_S)}/s), failed ${fmtInt(failed)}; ` +
      `backlog 1 s after the load stopped: ${fmtInt(finalBacklog)}`,
  );
  const p99s = windows.map((w) => w.p99);
  const firstBacklog = windows[0]?.backlog ?? 0;
  const lastBacklog = windows[windows.length - 1]?.backlog ?? 0;
  const keepsUp = lastBacklog <= firstBacklog + RATE;
  const p99Met = p99s.every((p) => p < TARGET_P99_S) || p99s.every((p) => p <= TARGET_P99_S);
  const reachedRate = acked / DURATION_S >= 0.95 * RATE;
  writeFigures([
    {
      figure: `guardian lag p99, stored → applied, ${fmtInt(RATE)} ev/s × ${DURATION_S} s (standalone)`,
      unit: 's',
      ours: p99s,
      baseline: [],
      baselineLabel: `— (per ${WINDOW_S} s window, bucket bound)`,
      compare: 'none',
      target: `< ${TARGET_P99_S} s every window`,
      met: p99Met && reachedRate,
      note: `${fmtInt(acked / DURATION_S)} events/s acknowledged of ${fmtInt(RATE)} offered`,
    },
    {
      figure: 'guardian backlog (acked, not yet applied), per window',
      unit: 'events',
      ours: windows.map((w) => w.backlog),
      baseline: [],
      baselineLabel: '—',
      compare: 'none',
      target: 'does not grow',
      met: keepsUp && reachedRate,
      note: `first ${fmtInt(firstBacklog)}, last ${fmtInt(lastBacklog)}, 1 s after the load ${fmtInt(finalBacklog)}`,
    },
  ]);
  console.log(
    `guardian lag p99 < ${TARGET_P99_S} s: ${verdict(p99Met && reachedRate)}; backlog does not grow: ${verdict(keepsUp && reachedRate)}`,
  );
  return 0;
}

runBenchmark('Sandbox Relay — consumer lag benchmark', run);
