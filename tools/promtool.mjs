// The alert rules (deploy/prometheus) are checked with Prometheus' own `promtool` (`check rules`,
// `test rules`). `npm test` (and so CI) makes sure it is installed: from Debian's `prometheus` package
// when it is missing and we are root, otherwise with a message saying how. Run alone to install it:
// `node tools/promtool.mjs`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export const PROMTOOL_PATH = process.env.PROMTOOL_PATH ?? '/usr/bin/promtool';

function log(message) {
  process.stderr.write(`[promtool] ${message}\n`);
}

export function ensurePromtool() {
  if (existsSync(PROMTOOL_PATH)) return PROMTOOL_PATH;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root || process.env.PROMTOOL_PATH) {
    throw new Error(
      `no promtool at ${PROMTOOL_PATH}; the alert rules' tests need it. Install Debian's package ` +
        '(`sudo apt-get install --no-install-recommends prometheus`, which carries promtool) or point PROMTOOL_PATH at a promtool binary.',
    );
  }
  log("not installed; installing Debian's prometheus package (apt-get), which carries promtool…");
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // The package's post-install starts no server where no init system runs (containers, CI); policy-rc.d is not touched.
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', 'prometheus']]) {
    // apt's output goes to stderr: a caller reads this script's stdout for the binary's path.
    const result = spawnSync('apt-get', args, { stdio: ['ignore', 2, 'inherit'], env });
    if (result.status !== 0)
      throw new Error(
        `apt-get ${args.join(' ')} failed (exit ${result.status ?? result.signal}); install prometheus by hand`,
      );
  }
  if (!existsSync(PROMTOOL_PATH)) throw new Error(`apt-get installed prometheus but ${PROMTOOL_PATH} is still missing`);
  log(`installed ${PROMTOOL_PATH}`);
  return PROMTOOL_PATH;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    process.stdout.write(`${ensurePromtool()}\n`);
  } catch (error) {
    log(error.message);
    process.exit(1);
  }
}
