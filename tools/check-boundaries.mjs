// Enforces the project's dependency rules on import statements (what Nx's enforce-module-boundaries
// lint rule would, without its ESLint plugin), from each project's `nx.tags` in its package.json:
// - layers, by `type:` tag: contracts ← util ← infra ← app. `type:contracts` imports only contracts;
//   `type:util` contracts and util; `type:infra` contracts and util (never another infra lib: inject a
//   small interface instead); `type:app` anything but another app. `libs/worker` is tagged an app: it is
//   the in-sandbox runtime, which no service imports;
// - only the composers (apps/standalone, and apps/e2e, `type:e2e`) import apps;
// - `type:testing` is imported only by specs (and an app's `src/spec-support.ts`, the specs' shared setup,
//   which its tsconfig keeps out of the build), by e2e and by itself; a spec may also reach across layers
//   to set up what it tests (a lib's integration spec opens a Redis connection through the bus);
// - every project has a `scope:` and a `type:` tag;
// - each infrastructure package is imported only by the lib that owns it; no relative imports across projects.
// `node tools/check-boundaries.mjs [root]` prints the violations and exits 1 when there are any.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

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
/** What each layer may import (besides itself). */
const LAYERS = {
  contracts: ['contracts'],
  util: ['contracts', 'util'],
  infra: ['contracts', 'util'],
  app: ['contracts', 'util', 'infra', 'client'],
  /**
   * The published client of the relay's HTTP and WebSocket API: the wire shapes and nothing else, and
   * those as types only (`import type`), so neither zod nor the schemas reach a page or the package.
   */
  client: ['contracts'],
  testing: ['contracts', 'util', 'infra', 'testing'],
  e2e: ['contracts', 'util', 'infra', 'app', 'client', 'testing', 'e2e'],
};

function* sourceFiles(dir) {
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry === 'generated') continue;
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) yield* sourceFiles(full);
    else if (entry.endsWith('.ts')) yield full;
  }
}

function projectsUnder(root) {
  const projects = new Map();
  for (const kind of ['apps', 'libs']) {
    let names = [];
    try {
      names = readdirSync(path.join(root, kind));
    } catch {
      continue;
    }
    for (const name of names) {
      const dir = `${kind}/${name}`;
      let tags = [];
      try {
        tags = JSON.parse(readFileSync(path.join(root, dir, 'package.json'), 'utf8')).nx?.tags ?? [];
      } catch {
        tags = [];
      }
      const type = tags.find((tag) => tag.startsWith('type:'))?.slice('type:'.length);
      const scope = tags.find((tag) => tag.startsWith('scope:'));
      projects.set(name, { name, kind, dir, type, scope });
    }
  }
  return projects;
}

/** Every violation under `root`, one line each. */
export function checkBoundaries(root) {
  const projects = projectsUnder(root);
  const problems = [];
  for (const project of projects.values()) {
    const src = path.join(root, project.dir, 'src');
    try {
      statSync(src);
    } catch {
      continue;
    }
    if (!project.type || !project.scope)
      problems.push(`${project.dir}/package.json: nx.tags needs a scope: and a type: tag`);
    else if (!LAYERS[project.type])
      problems.push(
        `${project.dir}/package.json: type:${project.type} is no layer this check knows (${Object.keys(LAYERS).join(', ')})`,
      );
    for (const file of sourceFiles(src)) {
      const relative = path.relative(root, file);
      const isSpec = file.endsWith('.spec.ts') || relative.endsWith(path.join('src', 'spec-support.ts'));
      const text = readFileSync(file, 'utf8');
      if (project.type === 'client' && !isSpec) {
        for (const [statement, specifier] of text.matchAll(/^\s*(?:import|export)\b[^;]*?from\s*['"]([^'"]+)['"]/gm)) {
          const typeOnly = /^\s*(?:import|export)\s+type\b/.test(statement);
          if (!typeOnly && (specifier === 'zod' || specifier.startsWith('@sandbox-relay/')))
            problems.push(`${relative}: imports '${specifier}': type:client takes types only from it (import type)`);
        }
      }
      for (const [, specifier] of text.matchAll(/(?:from|import|require)\s*\(?\s*['"]([^'"]+)['"]/g)) {
        const fail = (why) => problems.push(`${relative}: imports '${specifier}': ${why}`);
        const local = specifier.match(/^@sandbox-relay\/([\w-]+)/);
        if (local) {
          const target = projects.get(local[1]);
          if (!target || target === project) continue;
          if (specifier.endsWith('/testing') && target.name !== 'testing' && !isSpec)
            fail('test doubles are for specs only');
          if (target.type === 'testing' && !isSpec && project.type !== 'testing' && project.type !== 'e2e')
            fail('testing helpers are for specs only');
          else if (target.type === 'app' && !COMPOSERS.has(project.dir))
            fail(
              `${project.type === 'app' ? 'an app' : 'a lib'} may not import an app (only ${[...COMPOSERS].join(' and ')} compose apps)`,
            );
          else if (
            !isSpec &&
            target.type !== 'testing' &&
            target.type !== 'app' &&
            !(LAYERS[project.type] ?? []).includes(target.type)
          ) {
            fail(`type:${project.type} may not depend on type:${target.type}`);
          }
          continue;
        }
        if (
          specifier.startsWith('.') &&
          path
            .resolve(path.dirname(file), specifier)
            .startsWith(path.join(root, project.kind === 'apps' ? 'libs' : 'apps'))
        ) {
          fail('cross-project relative import; use the @sandbox-relay alias');
        }
        const owner = Object.entries(OWNED_PACKAGES).find(
          ([pkg]) => specifier === pkg || specifier.startsWith(`${pkg}/`),
        )?.[1];
        if (owner && owner !== project.dir) fail(`only ${owner} may import it`);
      }
    }
  }
  return problems;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const root = path.resolve(process.argv[2] ?? path.join(path.dirname(new URL(import.meta.url).pathname), '..'));
  const problems = checkBoundaries(root);
  if (problems.length > 0) {
    process.stderr.write(`module boundary violations:\n${problems.map((problem) => `  - ${problem}`).join('\n')}\n`);
    process.exit(1);
  }
  process.stdout.write('module boundaries: ok\n');
}
