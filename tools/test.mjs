// `npm test`: the boundary check and the lint step, then every test of every project (unit, integration
// against the real Redis and PostgreSQL, end-to-end over real sockets) and every project's typecheck.
// Makes sure the services listen and the test database is migrated first.
import { spawn, spawnSync } from 'node:child_process';
import { ensureDashboardBuilt } from './build-dashboard.mjs';
import { ensureChromium } from './chromium.mjs';
import { ensureNginx } from './nginx.mjs';
import { ensureServices } from './services.mjs';

const databaseUrl = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/sandbox_relay_test';
const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

try {
  await ensureServices({ databaseUrl, redisUrl });
  // The dashboard's end-to-end tests open the built page in Debian's chromium.
  ensureChromium();
  // The cluster tier puts Debian's nginx in front of two replicas of every service.
  ensureNginx();
  await ensureDashboardBuilt();
} catch (error) {
  process.stderr.write(`[test] ${error.message}\n`);
  process.exit(1);
}

// The boundary check's own test (a fixture tree with a violation of each rule), then the check itself.
const checker = spawnSync(process.execPath, ['--test', 'tools/check-boundaries.test.mjs'], { stdio: 'inherit' });
if (checker.status !== 0) process.exit(checker.status ?? 1);
const boundaries = spawnSync(process.execPath, ['tools/check-boundaries.mjs'], { stdio: 'inherit' });
if (boundaries.status !== 0) process.exit(boundaries.status ?? 1);
// ESLint errors and unformatted files on Prettier's list fail the run; ESLint's warnings are printed.
const lint = spawnSync(process.execPath, ['tools/lint.mjs'], { stdio: 'inherit' });
if (lint.status !== 0) process.exit(lint.status ?? 1);

const args = ['nx', 'run-many', '-t', 'typecheck', 'test', '--outputStyle=static', ...process.argv.slice(2)];
if (process.env.CI) args.push('--skip-nx-cache');

// A test process that never exits (a leaked socket, timer or child keeps jest alive) must fail the run
// with a clear message, not hold CI until its own limit. The whole suite takes ~18 min on 2 cores.
const deadlineMinutes = Number(process.env.TEST_DEADLINE_MINUTES ?? 45);
if (!Number.isFinite(deadlineMinutes) || deadlineMinutes <= 0) {
  process.stderr.write(
    `[test] TEST_DEADLINE_MINUTES must be a positive number of minutes, got ${JSON.stringify(process.env.TEST_DEADLINE_MINUTES)}\n`,
  );
  process.exit(1);
}
/**
 * The whole run prints tens of thousands of lines and a failed test sits somewhere in the middle, where
 * a CI log's tail does not reach. This keeps what names a failure (jest's `●` blocks, FAIL lines, a
 * worker that crashed or would not exit) and prints it once more after nx's summary.
 */
class FailureRecap {
  static BLOCK_LINES = 60;
  static MAX_LINES = 600;
  partial = { out: '', err: '' }; // each stream's unfinished last line
  lines = [];
  open = 0; // lines still to keep of the block being read
  feed(stream, chunk) {
    const parts = (this.partial[stream] + chunk.toString('utf8')).split('\n');
    this.partial[stream] = parts.pop() ?? '';
    for (const line of parts) this.line(line);
  }
  line(raw) {
    // eslint-disable-next-line no-control-regex
    const line = raw.replace(/\x1b\[[0-9;]*m/g, '');
    if (/^\s*● /.test(line)) this.open = FailureRecap.BLOCK_LINES;
    else if (/^\s*(PASS|FAIL) |^Test Suites:|^> nx run /.test(line)) this.open = 0;
    const notable = /^\s*FAIL |failed to exit|did not exit|worker process .* (crashed|terminated)/i.test(line);
    if ((this.open > 0 || notable) && this.lines.length < FailureRecap.MAX_LINES) this.lines.push(line);
    if (this.open > 0) this.open -= 1;
  }
  report() {
    if (this.lines.length === 0)
      return '\n[test] no jest failure block was printed above; see the failed tasks nx lists\n';
    const more = this.lines.length >= FailureRecap.MAX_LINES ? ` (first ${FailureRecap.MAX_LINES} lines)` : '';
    return `\n[test] the failures printed above, again${more}:\n${this.lines.join('\n')}\n`;
  }
}

const child = spawn('npx', args, {
  // Passed through as it comes; the failures are also kept and printed again at the end (below).
  stdio: ['inherit', 'pipe', 'pipe'],
  detached: true, // its own process group, so the watchdog can stop nx, jest and whatever they started
  env: {
    ...process.env,
    TEST_DATABASE_URL: databaseUrl,
    TEST_REDIS_URL: redisUrl,
    NX_DAEMON: 'false',
    NX_NO_CLOUD: 'true',
  },
});
const stopGroup = (signal) => {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
};
let timedOut = false;
const watchdog = setTimeout(() => {
  timedOut = true;
  process.stderr.write(
    `\n[test] the tests did not finish within ${deadlineMinutes} min (TEST_DEADLINE_MINUTES); stopping them. The task running last above is the one that hung.\n`,
  );
  stopGroup('SIGTERM');
  setTimeout(() => stopGroup('SIGKILL'), 10_000).unref();
}, deadlineMinutes * 60_000);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => stopGroup(signal));
const failures = new FailureRecap();
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  failures.feed('out', chunk);
});
child.stderr.on('data', (chunk) => {
  process.stderr.write(chunk);
  failures.feed('err', chunk);
});
child.on('exit', (code, signal) => {
  clearTimeout(watchdog);
  const failed = timedOut || code !== 0 || signal !== null;
  // The pipes close once their last writer is gone; a process a test left behind may hold them, so
  // the end is not waited for beyond a moment.
  const finish = () => {
    if (failed) process.stdout.write(failures.report());
    process.exit(failed ? 1 : 0);
  };
  const late = setTimeout(finish, 2_000);
  child.once('close', () => {
    clearTimeout(late);
    finish();
  });
});
