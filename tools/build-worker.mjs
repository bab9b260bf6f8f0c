// Bundles the sandbox worker (libs/worker/src/main.ts) into ONE self-contained file,
// dist/worker/worker.js: unlike the apps (tools/build.mjs), every npm dependency but the Claude Agent
// SDK (see `external` below) is inlined, because
// a provider uploads this single file into a sandbox that has node and nothing of ours.
//   node tools/build-worker.mjs   → then: node dist/worker/worker.js (configured by env)
import { build } from 'esbuild';
import { statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const outfile = path.join(root, 'dist', 'worker', 'worker.js');

await build({
  entryPoints: [path.join(root, 'libs', 'worker', 'src', 'main.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  // Sandboxes images ship node 20 or newer (the Daytona snapshot and this repo's engines field).
  target: 'node20',
  format: 'cjs',
  // Resolves @sandbox-relay/* through the repo's path aliases, as the app bundles do.
  tsconfig: path.join(root, 'tsconfig.base.json'),
  // A sandbox has no source tree to map back to; keep the file small and readable in stack traces.
  sourcemap: false,
  minifySyntax: true,
  legalComments: 'none',
  // AGENT=claude only: the Claude Agent SDK drives a native Claude Code binary from a per-platform
  // package, so it cannot be inlined. It is imported when the first Claude turn starts, from a
  // node_modules the sandbox image provides; the shell agent never loads it.
  external: ['@anthropic-ai/claude-agent-sdk'],
  logLevel: 'warning',
});

const bytes = statSync(outfile).size;
process.stdout.write(`built ${path.relative(root, outfile)} (${(bytes / 1024).toFixed(1)} KiB)\n`);
