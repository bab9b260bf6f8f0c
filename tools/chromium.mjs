// The dashboard's browser tests drive Debian's chromium through playwright-core; no browser is ever
// downloaded. `npm test` (and so .ci/run) makes sure it is installed: from Debian's packages when it
// is missing and we are root, otherwise with a message saying how.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

function log(message) {
  process.stderr.write(`[chromium] ${message}\n`);
}

export function ensureChromium() {
  if (existsSync(CHROMIUM_PATH)) return;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root || process.env.CHROMIUM_PATH) {
    throw new Error(
      `no chromium at ${CHROMIUM_PATH}; the dashboard's browser tests need it. Install Debian's package ` +
        '(`sudo apt-get install --no-install-recommends chromium`) or point CHROMIUM_PATH at a Chromium binary.',
    );
  }
  log("not installed; installing Debian's chromium package (apt-get)…");
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', 'chromium']]) {
    const result = spawnSync('apt-get', args, { stdio: 'inherit', env });
    if (result.status !== 0)
      throw new Error(
        `apt-get ${args.join(' ')} failed (exit ${result.status ?? result.signal}); install chromium by hand`,
      );
  }
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`apt-get installed chromium but ${CHROMIUM_PATH} is still missing`);
  log(`installed ${CHROMIUM_PATH}`);
}
