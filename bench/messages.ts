/*
 * Message queue benchmark.  Run: npx tsx bench/messages.ts   (≈ 40 s on 2 cores)
 *
 * Process layout as in ingest.ts: the standalone (startStandalone(parseStandaloneEnv({... PORT 0, LOG_LEVEL silent})))
 * and a bare express 5 baseline (POST .../messages → {ok:true}, GET .../messages → []) each run in a child process
 * (bench/lib/server-child.ts); autocannon, the HTTP clients and a `pg` client for the SELECT 1 baseline run here.
 * Redis is a private redis-server for the run (useBenchRedis) unless BENCH_REDIS_URL is set.
 *
 * Figures, each beside a baseline from the same run:
 *   1. POST throughput: autocannon, POST /api/v1/sandboxes/<id>/messages (user_message, body below) cycling over
 *      100 sandbox ids, 100 connections, 1 s warm-up, then 2 alternating rounds × 3 s per server (bare, product,
 *      product, bare). Messages/s (a 200 means the row is committed), p50/p99. Baseline: bare express, same settings.
 *   2. drain throughput: those 100 sandboxes (≈ 100+ messages each, left by 1.) are drained by 50 concurrent
 *      workers, each taking a sandbox and GETting ?limit=10 until it answers []. Drains/s (empty polls included)
 *      and messages handed out/s. Baseline: bare express GET → [] for the same number of GETs, same concurrency.
 *   3. drain latency, each GET timed from the bench (request start → last byte), target p99 ≤ 10 ms:
 *      (a) one sandbox with a 1,000-deep backlog: GET ?limit=10, then 10 POSTs (32 in flight at most) put the
 *          backlog back to 1,000 (untimed), 1,000 times; every timed GET sees 1,000 queued messages.
 *      (b) 1,000 sandboxes × 10 messages: one GET (default limit 100) per sandbox, sequentially.
 *      Baselines, interleaved with the timed GETs (one of each right after every GET): a bare `SELECT 1` round trip
 *      on a `pg` client of this process (same host and connection path as the product's pool); a 1-row UPDATE of an
 *      already delivered bench message, value unchanged, as its own transaction (a durable commit, as a drain is);
 *      a bare express GET → [].
 *   4. exactly once: every message of every bench sandbox (all rows in sandbox_messages, which includes every
 *      message whose POST got a 200) is handed out exactly once by the drains above, to the sandbox it was sent to,
 *      and the rows are ≥ the 200s autocannon counted. Otherwise exit code 1.
 * Targets: 3 is the issue's (p99 ≤ 10 ms). 1 and 2 have no target in the issue; the bench's own are: POST ≥ 1,000
 * messages/s with no errors, and drain hands out messages at least as fast as POST queues them (a backlog can shrink).
 *
 * Options (env): BENCH_ROUNDS (2), BENCH_ROUND_S (3), BENCH_WARMUP_S (1), BENCH_CONNECTIONS (100),
 * BENCH_DRAIN_CONCURRENCY (50), BENCH_DEEP_SAMPLES (1000), BENCH_KEEP_ROWS=1 (keep this run's rows; by default
 * sandbox_messages and sandbox_events rows of this run's sandbox ids are deleted and both tables vacuumed),
 * BENCH_REDIS_URL, BENCH_DATABASE_URL, BENCH_SERVER_NODE_ARGS.
 */
import os from 'node:os';
import autocannon from 'autocannon';
import { Client } from 'pg';
import {
  BENCH_DATABASE_URL,
  cpuPercent,
  fmt1,
  fmt2,
  fmtInt,
  latencySummary,
  machineCpu,
  machineCpuPercent,
  requestJson,
} from './lib/common';
import {
  benchOption,
  runBenchmark,
  runConcurrently,
  startServerChild,
  table,
  verdict,
  writeFigures,
  type BenchRedis,
  type ServerChild,
} from './lib/common';

const ROUNDS = benchOption('ROUNDS', 2, 1);
const ROUND_S = benchOption('ROUND_S', 3, 1);
const WARMUP_S = benchOption('WARMUP_S', 1, 1);
const CONNECTIONS = benchOption('CONNECTIONS', 100, 10);
const DRAIN_CONCURRENCY = benchOption('DRAIN_CONCURRENCY', 50, 10);
const DEEP_SAMPLES = benchOption('DEEP_SAMPLES', 1000, 50);
const POST_SANDBOXES = 100;
const DRAIN_LIMIT = 10;
const DEEP_BACKLOG = 1000;
const DEEP_LIMIT = 10;
const WIDE_SANDBOXES = benchOption('WIDE_SANDBOXES', 1000, 50);
const WIDE_DEPTH = 10;
const FILL_CONCURRENCY = 32;
const TARGET_POST_PER_S = 1000;
const TARGET_P99_MS = 10;

const runId = `bench-msg-${Date.now().toString(36)}`;
const postIds = Array.from({ length: POST_SANDBOXES }, (_, i) => `${runId}-p${i}`);
const deepId = `${runId}-deep`;
const wideIds = Array.from({ length: WIDE_SANDBOXES }, (_, i) => `${runId}-w${i}`);
const allIds = [...postIds, deepId, ...wideIds];
const BODY = JSON.stringify({
  content: 'The tests in packages/api fail on main since 3f2c1e0; please bisect and report back.',
  message_type: 'user_message',
});
const messagesPath = (id: string, limit?: number) =>
  `/api/v1/sandboxes/${id}/messages${limit ? `?limit=${limit}` : ''}`;

/** What the bench saw, for figure 4. */
const handedOut = new Map<string, number>();
const posted = new Set<string>();
let wrongSandbox = 0;
let failedRequests = 0;

/** One autocannon round (or a drain phase): 2xx answers, failures, CPU (% of one core) of server / bench / machine. */
type Load = {
  ok: number;
  bad: number;
  seconds: number;
  p50: number;
  p99: number;
  cpu: [server: number, bench: number, machine: number];
};

/** Runs `work` and returns its wall time with the CPU of the server child, this process and the machine over it. */
async function measured<T>(
  server: ServerChild,
  work: () => Promise<T>,
): Promise<{ result: T; seconds: number; cpu: Load['cpu'] }> {
  const before = {
    server: (await server.cpu()).cpu,
    self: process.cpuUsage(),
    machine: machineCpu(),
    at: performance.now(),
  };
  const result = await work();
  const wallMs = performance.now() - before.at;
  const cpu: Load['cpu'] = [
    cpuPercent(before.server, (await server.cpu()).cpu, wallMs),
    cpuPercent(before.self, process.cpuUsage(), wallMs),
    machineCpuPercent(before.machine, machineCpu()),
  ];
  return { result, seconds: wallMs / 1000, cpu };
}

function cannon(url: string, durationS: number): Promise<autocannon.Result> {
  return autocannon({
    url,
    connections: CONNECTIONS,
    duration: durationS,
    requests: postIds.map((id) => ({ method: 'POST', path: messagesPath(id), body: BODY })),
    headers: { 'content-type': 'application/json' },
    timeout: 10,
  });
}

async function postRound(server: ServerChild, rounds: Load[]): Promise<void> {
  const { result, cpu } = await measured(server, () => cannon(server.url, ROUND_S));
  rounds.push({
    ok: result['2xx'],
    bad: result.non2xx + result.errors + result.timeouts,
    seconds: result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpu,
  });
}

/** One drain GET; records every message handed out. */
async function drain(url: string, id: string, limit?: number): Promise<{ count: number; ms: number }> {
  const res = await requestJson<Array<{ message_id: string; sandbox_id: string }>>(url, 'GET', messagesPath(id, limit));
  if (res.status !== 200) return ((failedRequests += 1), { count: 0, ms: res.ms });
  for (const message of res.body) {
    handedOut.set(message.message_id, (handedOut.get(message.message_id) ?? 0) + 1);
    if (message.sandbox_id !== id) wrongSandbox += 1;
  }
  return { count: res.body.length, ms: res.ms };
}

/** POSTs one message per entry of `ids`, `concurrency` at a time; records the acknowledged message ids. */
async function fill(url: string, ids: string[], concurrency = FILL_CONCURRENCY): Promise<void> {
  await runConcurrently(ids.length, concurrency, async (i) => {
    const res = await requestJson<{ message_id: string }>(url, 'POST', messagesPath(ids[i]!), BODY);
    if (res.status === 200) posted.add(res.body.message_id);
    else failedRequests += 1;
  });
}

type LatencySamples = Record<'drain' | 'select1' | 'commit' | 'bareGet', number[]> & { short: number };

/**
 * The baselines, taken right after each timed product GET: SELECT 1; a one-row UPDATE of an already delivered bench
 * message (`commitId`, value unchanged) as its own transaction, i.e. a durable commit like the drain's; a bare GET.
 */
async function baselineSample(pg: Client, bareUrl: string, commitId: string, into: LatencySamples): Promise<void> {
  for (const [key, sql] of [
    ['select1', 'SELECT 1'],
    ['commit', `UPDATE sandbox_messages SET delivered_at = delivered_at WHERE id = ${BigInt(commitId)}`],
  ] as const) {
    const started = performance.now();
    await pg.query(sql);
    into[key].push(performance.now() - started);
  }
  into.bareGet.push((await requestJson(bareUrl, 'GET', messagesPath(deepId, DEEP_LIMIT))).ms);
}

/** Timed GETs, one per step, each followed by the baselines and by `after(count)`; counts GETs not handing out `expect`. */
async function timedDrains(
  servers: { product: ServerChild; bare: ServerChild; pg: Client; commitId: string },
  steps: string[],
  limit: number | undefined,
  expect: number,
  after?: (count: number) => Promise<void>,
): Promise<LatencySamples> {
  const samples: LatencySamples = { drain: [], select1: [], commit: [], bareGet: [], short: 0 };
  for (const id of steps) {
    const { count, ms } = await drain(servers.product.url, id, limit);
    samples.drain.push(ms);
    if (count !== expect) samples.short += 1;
    await baselineSample(servers.pg, servers.bare.url, servers.commitId, samples);
    await after?.(count);
  }
  return samples;
}

/** Figure 2: product drains the POST sandboxes to empty; the bare server gets as many GETs at the same concurrency. */
async function drainThroughput(product: ServerChild, bare: ServerChild) {
  const totals = { drains: 0, messages: 0, failed: failedRequests };
  const run = await measured(product, () =>
    runConcurrently(postIds.length, DRAIN_CONCURRENCY, async (i) => {
      for (let count = -1; count !== 0; totals.drains += 1, totals.messages += count)
        count = (await drain(product.url, postIds[i]!, DRAIN_LIMIT)).count;
    }),
  );
  const bareRun = await measured(bare, () =>
    runConcurrently(
      totals.drains,
      DRAIN_CONCURRENCY,
      async (i) => void (await requestJson(bare.url, 'GET', messagesPath(postIds[i % POST_SANDBOXES]!, DRAIN_LIMIT))),
    ),
  );
  return {
    ...totals,
    failed: failedRequests - totals.failed,
    seconds: run.seconds,
    cpu: run.cpu,
    bareSeconds: bareRun.seconds,
    bareCpu: bareRun.cpu,
  };
}

/** Figure 4, from the database. */
async function verify(pg: Client, acked: number, shortDrains: number) {
  const { rows } = await pg.query<{ id: string; sandbox_id: string }>(
    'SELECT id::text AS id, sandbox_id FROM sandbox_messages WHERE sandbox_id = ANY($1::text[])',
    [allIds],
  );
  const inDb = new Set(rows.map((row) => row.id));
  const check = {
    rows: rows.length,
    postRows: rows.filter((row) => row.sandbox_id.startsWith(`${runId}-p`)).length,
    duplicated: [...handedOut.values()].filter((n) => n > 1).length,
    missing: rows.filter((row) => !handedOut.has(row.id)).length,
    unknown: [...handedOut.keys()].filter((id) => !inDb.has(id)).length,
    lost: [...posted].filter((id) => !inDb.has(id)).length,
  };
  const ok =
    check.duplicated + check.missing + check.unknown + check.lost + wrongSandbox + failedRequests + shortDrains === 0 &&
    check.postRows >= acked;
  return { ...check, ok };
}

/** Deletes this run's rows (unless BENCH_KEEP_ROWS=1) and vacuums, so the next benchmark meets no autovacuum of them. */
async function deleteRows(pg: Client): Promise<void> {
  if (process.env.BENCH_KEEP_ROWS === '1') return;
  await pg.query('DELETE FROM sandbox_messages WHERE sandbox_id = ANY($1::text[])', [allIds]);
  await pg.query(`DELETE FROM sandbox_events WHERE entity_type = 'sandbox' AND entity_id = ANY($1::text[])`, [allIds]);
  for (const tableName of ['sandbox_messages', 'sandbox_events']) await pg.query(`VACUUM ${tableName}`);
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const mean = (values: number[]) => sum(values) / values.length;
const perS = (rounds: Load[]) => sum(rounds.map((r) => r.ok)) / sum(rounds.map((r) => r.seconds));
const cpuCell = (cpu: Load['cpu']) => cpu.map(fmtInt).join(' / ');
const meanCpu = (rounds: Load[]): Load['cpu'] =>
  [0, 1, 2].map((i) => mean(rounds.map((r) => r.cpu[i]!))) as Load['cpu'];
const log = (message: string) => process.stderr.write(`${message}\n`);

async function run(_redis: BenchRedis): Promise<number> {
  console.log(
    `setup:   servers in child processes, autocannon + HTTP clients + pg in the bench process; sandbox ids ${runId}-*; ` +
      `POST: ${CONNECTIONS} connections over ${POST_SANDBOXES} ids, ${WARMUP_S} s warm-up, ${ROUNDS} alternating rounds × ${ROUND_S} s; ` +
      `drain: ${DRAIN_CONCURRENCY} concurrent workers, ?limit=${DRAIN_LIMIT}; fills: ${FILL_CONCURRENCY} POSTs in flight`,
  );
  console.log(`body:    ${BODY} (${Buffer.byteLength(BODY)} B)`);
  console.log('');

  const pg = new Client({ connectionString: BENCH_DATABASE_URL });
  await pg.connect();
  const bare = await startServerChild('express');
  const product = await startServerChild('standalone');
  try {
    log(`1. POST: warm-up ${WARMUP_S} s each, then ${ROUNDS} × ${ROUND_S} s per server, alternating ...`);
    const postRounds = { bare: [] as Load[], product: [] as Load[] };
    await cannon(bare.url, WARMUP_S);
    const warmUp = await cannon(product.url, WARMUP_S);
    let acked = warmUp['2xx'];
    for (let r = 0; r < ROUNDS; r += 1) {
      const order: Array<[ServerChild, Load[]]> = [
        [bare, postRounds.bare],
        [product, postRounds.product],
      ];
      for (const [server, rounds] of r % 2 ? order.reverse() : order) await postRound(server, rounds);
    }
    acked += sum(postRounds.product.map((r) => r.ok));

    log(`2. drain throughput: ${POST_SANDBOXES} sandboxes, ${DRAIN_CONCURRENCY} workers ...`);
    const drains = await drainThroughput(product, bare);
    log(`3a. one sandbox, backlog ${DEEP_BACKLOG}: ${DEEP_SAMPLES} × (GET ?limit=${DEEP_LIMIT}, refill) ...`);
    const servers = { product, bare, pg, commitId: handedOut.keys().next().value as string };
    await fill(product.url, Array<string>(DEEP_BACKLOG).fill(deepId));
    // After each timed GET, POST as many as it handed out: every timed GET sees 1,000 queued messages.
    const deep = await timedDrains(servers, Array<string>(DEEP_SAMPLES).fill(deepId), DEEP_LIMIT, DEEP_LIMIT, (count) =>
      fill(product.url, Array<string>(count).fill(deepId), count),
    );
    while ((await drain(product.url, deepId, 1000)).count > 0);
    log(`3b. ${WIDE_SANDBOXES} sandboxes × ${WIDE_DEPTH}: fill, then one GET each ...`);
    await fill(
      product.url,
      Array.from({ length: WIDE_SANDBOXES * WIDE_DEPTH }, (_, i) => wideIds[i % WIDE_SANDBOXES]!),
    );
    const wide = await timedDrains(servers, wideIds, undefined, WIDE_DEPTH);

    log('stopping the servers (the standalone drains its event log), verifying ...');
    await product.close();
    await bare.close();
    const check = await verify(pg, acked, deep.short + wide.short);

    const postRate = perS(postRounds.product);
    const drainMsgRate = drains.messages / drains.seconds;
    const worst = (rounds: Load[], key: 'p50' | 'p99') => fmt1(Math.max(...rounds.map((r) => r[key])));
    const postRow = (label: string, rounds: Load[]) => {
      const bad = sum(rounds.map((r) => r.bad));
      return [
        label,
        fmtInt(sum(rounds.map((r) => r.ok))),
        fmtInt(perS(rounds)),
        worst(rounds, 'p50'),
        worst(rounds, 'p99'),
        fmtInt(bad),
        cpuCell(meanCpu(rounds)),
      ];
    };
    console.log(
      table(
        ['load', 'requests', 'req/s', 'p50 ms', 'p99 ms', 'failed', 'CPU % server / bench / machine'],
        [
          postRow('1. POST, bare express', postRounds.bare),
          postRow('1. POST, standalone', postRounds.product),
          [
            '2. GET → [], bare express',
            fmtInt(drains.drains),
            fmtInt(drains.drains / drains.bareSeconds),
            '',
            '',
            '',
            cpuCell(drains.bareCpu),
          ],
          [
            `2. GET drain, standalone`,
            fmtInt(drains.drains),
            fmtInt(drains.drains / drains.seconds),
            '',
            '',
            fmtInt(drains.failed),
            cpuCell(drains.cpu),
          ],
        ],
      ),
    );
    console.log(
      `(POST: ${ROUNDS} rounds, p50/p99 of the worst round; drain: ${fmtInt(drains.messages)} messages in ${fmt2(drains.seconds)} s; CPU in % of one core,`,
    );
    console.log(
      ` machine ${os.cpus().length * 100} % = all cores busy; machine − server − bench ≈ Postgres + Redis + other users)`,
    );
    console.log('');
    const kinds = [
      ['standalone GET drain', 'drain'],
      ['bare pg SELECT 1', 'select1'],
      ['bare pg 1-row UPDATE+commit', 'commit'],
      ['bare express GET → []', 'bareGet'],
    ] as const;
    const latencyRows = (label: string, s: LatencySamples) =>
      kinds.map(([what, key]) => {
        const l = latencySummary(s[key]);
        return [`${label}: ${what}`, fmtInt(l.n), fmt2(l.p50), fmt2(l.p99), fmt2(l.max)];
      });
    console.log(
      table(
        ['latency (ms, bench-side)', 'n', 'p50', 'p99', 'max'],
        [...latencyRows('3a', deep), ...latencyRows('3b', wide)],
      ),
    );
    const quarters = [0, 1, 2, 3].map((q) =>
      latencySummary(deep.drain.slice((q * deep.drain.length) / 4, ((q + 1) * deep.drain.length) / 4)),
    );
    console.log(
      `(3a drain p50 / p99 by quarter of the run, ms: ${quarters.map((l) => `${fmt2(l.p50)} / ${fmt2(l.p99)}`).join(', ')})`,
    );
    console.log('');
    const p99 = (samples: number[]) => latencySummary(samples).p99;
    const latencyBaseline = (s: LatencySamples) =>
      `SELECT 1 ${fmt2(p99(s.select1))}, commit ${fmt2(p99(s.commit))}, bare GET ${fmt2(p99(s.bareGet))} ms`;
    const postFailed = sum(postRounds.product.map((r) => r.bad)) + warmUp.non2xx + warmUp.errors + warmUp.timeouts;
    console.log(
      table(
        ['figure', 'measured', 'baseline (same run)', 'target', 'result'],
        [
          [
            '1. POST messages/s',
            `${fmtInt(postRate)}/s (${fmt2(postRate / perS(postRounds.bare))}× bare)`,
            `bare express ${fmtInt(perS(postRounds.bare))}/s`,
            `≥ ${fmtInt(TARGET_POST_PER_S)}/s, 0 failed (bench's)`,
            verdict(postRate >= TARGET_POST_PER_S && postFailed === 0),
          ],
          [
            '2. drain throughput',
            `${fmtInt(drains.drains / drains.seconds)} drains/s, ${fmtInt(drainMsgRate)} msgs/s`,
            `bare GET → [] ${fmtInt(drains.drains / drains.bareSeconds)}/s`,
            "msgs/s ≥ POST msgs/s (bench's)",
            verdict(drainMsgRate >= postRate && drains.failed === 0),
          ],
          [
            `3a. drain p99, 1 sandbox, ${fmtInt(DEEP_BACKLOG)} queued`,
            `${fmt2(p99(deep.drain))} ms (${fmt2(p99(deep.drain) / p99(deep.bareGet))}× bare GET)`,
            latencyBaseline(deep),
            `≤ ${TARGET_P99_MS} ms`,
            verdict(p99(deep.drain) <= TARGET_P99_MS),
          ],
          [
            `3b. drain p99, ${fmtInt(WIDE_SANDBOXES)} sandboxes × ${WIDE_DEPTH}`,
            `${fmt2(p99(wide.drain))} ms (${fmt2(p99(wide.drain) / p99(wide.bareGet))}× bare GET)`,
            latencyBaseline(wide),
            `≤ ${TARGET_P99_MS} ms`,
            verdict(p99(wide.drain) <= TARGET_P99_MS),
          ],
          [
            '4. every message handed out once',
            `${fmtInt(handedOut.size)} handed out`,
            `${fmtInt(check.rows)} rows stored`,
            'exactly once',
            check.ok ? 'OK' : 'FAIL',
          ],
        ],
      ),
    );
    console.log(
      `4: ${check.duplicated} handed out twice or more, ${check.missing} never, ${check.unknown} not in the table, ${wrongSandbox} to the wrong sandbox, ` +
        `${failedRequests} failed GETs/fill POSTs, ${deep.short + wide.short} 3a/3b drains short of ${DEEP_LIMIT}/${WIDE_DEPTH}; fill POSTs acked ${fmtInt(posted.size)} (${check.lost} not stored); ` +
        `autocannon acked ${fmtInt(acked)} ${acked <= check.postRows ? '≤' : '>'} ${fmtInt(check.postRows)} rows of its sandboxes`,
    );
    writeFigures([
      {
        figure: `message drain p99, 1 sandbox with ${fmtInt(DEEP_BACKLOG)} queued (standalone)`,
        unit: 'ms',
        ours: [p99(deep.drain)],
        baseline: [p99(deep.bareGet)],
        baselineLabel: 'bare express GET p99',
        compare: 'diff',
        target: `≤ ${TARGET_P99_MS} ms`,
        met: p99(deep.drain) <= TARGET_P99_MS,
      },
      {
        figure: `message drain p99, ${fmtInt(WIDE_SANDBOXES)} sandboxes × ${WIDE_DEPTH} (standalone)`,
        unit: 'ms',
        ours: [p99(wide.drain)],
        baseline: [p99(wide.bareGet)],
        baselineLabel: 'bare express GET p99',
        compare: 'diff',
        target: `≤ ${TARGET_P99_MS} ms`,
        met: p99(wide.drain) <= TARGET_P99_MS,
      },
      {
        figure: 'messages handed out exactly once',
        unit: 'errors',
        ours: [check.duplicated + check.missing + check.unknown + wrongSandbox],
        baseline: [],
        baselineLabel: `${fmtInt(check.rows)} rows stored`,
        compare: 'none',
        target: '0',
        met: check.ok,
      },
    ]);
    if (!check.ok) console.error(`\nFAIL: messages were not handed out exactly once (run ${runId}); see figure 4.`);
    return check.ok ? 0 : 1;
  } finally {
    await product.close();
    await bare.close();
    await deleteRows(pg);
    await pg.end();
  }
}

runBenchmark('Sandbox Relay — message queue benchmark', run);
