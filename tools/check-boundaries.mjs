// Enforces the project's dependency rules on import statements (what Nx's enforce-module-boundaries
// lint rule would, without pulling ESLint into the toolchain):
// - no app imports another app (only the standalone launcher and the e2e suite compose apps);
// - libs never import apps; `contracts` imports no other project; `testing` is imported only by specs
//   (and an app's `src/spec-support.ts`, the specs' shared setup, which its tsconfig keeps out of the build);
// - each infrastructure package is imported only by the lib that owns it.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const OWNED_PACKAGES = {
  ioredis: 'libs/bus',
  bullmq: 'libs/bus',
  '@prisma/client': 'libs/store',
  '@prisma/adapter-pg': 'libs/store',
  '@octokit/rest': 'libs/github',
  '@daytonaio/sdk': 'libs/sandbox',
  '@anthropic-ai/claude-agent-sdk': 'libs/worker',
  '@daytona/api-client': 'libs/sandbox',
  '@daytona/toolbox-api-client': 'libs/sandbox',
};
const COMPOSERS = new Set(['apps/standalone', 'apps/e2e']);

function* sourceFiles(dir) {
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry === 'generated') continue;
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) yield* sourceFiles(full);
    else if (entry.endsWith('.ts')) yield full;
  }
}

const problems = [];
for (const kind of ['apps', 'libs']) {
  for (const project of readdirSync(path.join(root, kind))) {
    const projectDir = `${kind}/${project}`;
    const src = path.join(root, projectDir, 'src');
    try {
      statSync(src);
    } catch {
      continue;
    }
    for (const file of sourceFiles(src)) {
      const relative = path.relative(root, file);
      const isSpec = file.endsWith('.spec.ts') || relative.endsWith(path.join('src', 'spec-support.ts'));
      const text = readFileSync(file, 'utf8');
      for (const [, specifier] of text.matchAll(/(?:from|import|require)\s*\(?\s*['"]([^'"]+)['"]/g)) {
        const fail = (why) => problems.push(`${relative}: imports '${specifier}': ${why}`);
        const local = specifier.match(/^@sandbox-relay\/([\w-]+)/);
        if (specifier.endsWith('/testing') && local && local[1] !== 'testing' && !isSpec) fail('test doubles are for specs only');
        if (local) {
          const target = local[1];
          const targetIsApp = readdirSync(path.join(root, 'apps')).includes(target);
          if (targetIsApp && target !== project && !COMPOSERS.has(projectDir)) fail('an app may not import another app');
          if (targetIsApp && kind === 'libs') fail('a lib may not import an app');
          if (projectDir === 'libs/contracts' && target !== 'contracts') fail('contracts depend on nothing of ours');
          if (target === 'testing' && !isSpec && projectDir !== 'libs/testing' && projectDir !== 'apps/e2e') fail('testing helpers are for specs only');
          continue;
        }
        if (specifier.startsWith('.') && path.resolve(path.dirname(file), specifier).startsWith(path.join(root, kind === 'apps' ? 'libs' : 'apps'))) {
          fail('cross-project relative import; use the @sandbox-relay alias');
        }
        const owner = Object.entries(OWNED_PACKAGES).find(([pkg]) => specifier === pkg || specifier.startsWith(`${pkg}/`))?.[1];
        if (owner && owner !== projectDir) fail(`only ${owner} may import it`);
      }
    }
  }
}

if (problems.length > 0) {
  process.stderr.write(`module boundary violations:\n${problems.map((problem) => `  - ${problem}`).join('\n')}\n`);
  process.exit(1);
}
process.stdout.write('module boundaries: ok\n');
