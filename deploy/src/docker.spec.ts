import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { DEPLOYABLE, ROOT, effectiveAuthMode, requiredVariables } from './apps';
import { copies, lastOf, parseDockerfile, runCommand, stageEnv } from './dockerfile';
import { containersOf, renderKustomization } from './kustomize';

const DOCKERFILE = path.join(ROOT, 'docker', 'Dockerfile');
const { stages } = parseDockerfile(DOCKERFILE);
const stage = (name: string) => {
  const found = stages.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`docker/Dockerfile has no stage ${name}`);
  return found;
};
const apps = Object.keys(DEPLOYABLE);

/** `CMD ["node", "--flag", "dist/apps/x/main.js"]` → its argv. */
function cmdOf(name: string): string[] {
  const cmd = lastOf(stages, name, 'CMD');
  if (!cmd) throw new Error(`stage ${name} has no CMD`);
  return JSON.parse(cmd.args) as string[];
}

/** Where a path of the runtime image (/app/…) came from in the build stage (/src/… = the repo). */
function builtSourceOf(name: string, imagePath: string): string | undefined {
  for (const copy of [...copies(stage(name)), ...copies(stage('runtime'))]) {
    const target = path.posix.join('/app', copy.target);
    if (copy.from === 'build' && (imagePath === target || imagePath.startsWith(`${target}/`))) {
      return path.join(ROOT, path.posix.relative('/src', copy.source), path.posix.relative(target, imagePath));
    }
  }
  return undefined;
}

describe('docker/Dockerfile', () => {
  it('builds with exactly what CI runs: npm ci, then npm run build', () => {
    const runs = stage('build')
      .instructions.filter((instruction) => instruction.keyword === 'RUN')
      .map(runCommand);
    // npm ci's own postinstall runs as its own step once the sources are copied (the install layer then
    // stays cached across schema changes).
    expect(runs.map((run) => run.split(/\s+/).slice(0, 3).join(' '))).toEqual([
      'npm ci --no-audit',
      'npm run postinstall',
      'npm run build',
    ]);
    expect(runs[0]).toMatch(/ --ignore-scripts\b/);
    const scripts = (
      JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
    ).scripts;
    const steps = scripts['build']!.split('&&').map((step) => step.trim());
    expect(steps).toEqual(
      expect.arrayContaining(['node tools/build.mjs', 'node tools/build-worker.mjs', 'node tools/build-dashboard.mjs']),
    );
    for (const step of steps) expect(existsSync(path.join(ROOT, step.split(/\s+/)[1]!))).toBe(true);
  });

  it('has a build context that cannot leak local build output or node_modules into the image', () => {
    const ignored = readFileSync(path.join(ROOT, 'docker', 'Dockerfile.dockerignore'), 'utf8')
      .split('\n')
      .map((line) => line.trim());
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', '**/node_modules', 'dist', '.git', '.env']));
  });

  it('runs every image as the unprivileged node user, in production mode, on all interfaces', () => {
    expect(lastOf(stages, 'runtime', 'USER')?.args).toBe('node');
    expect(stageEnv(stages, 'runtime')).toMatchObject({ NODE_ENV: 'production', HOST: '0.0.0.0' });
    // Production packages only: the runtime's node_modules come from `npm ci --omit=dev`.
    expect(runCommand(stage('prod-deps').instructions.find((instruction) => instruction.keyword === 'RUN')!)).toMatch(
      /^npm ci --omit=dev\b/,
    );
    expect(copies(stage('runtime'))).toEqual(
      expect.arrayContaining([{ from: 'prod-deps', source: '/src/node_modules', target: './node_modules' }]),
    );
  });

  it.each(apps)(
    '%s: a target FROM runtime that starts the bundle tools/build.mjs writes, on the port the manifests use',
    (app) => {
      expect(stage(app).from).toBe('runtime');
      const argv = cmdOf(app);
      expect(argv[0]).toBe('node');
      expect(argv[argv.length - 1]).toBe(`dist/apps/${app}/main.js`);
      expect(builtSourceOf(app, `/app/dist/apps/${app}/main.js`)).toBe(path.join(ROOT, 'dist', 'apps', app, 'main.js'));
      const port = stageEnv(stages, app)['PORT'];
      expect(lastOf(stages, app, 'EXPOSE')?.args).toBe(port);
      // The app's own default, the image's and the Deployment's agree.
      expect(String((DEPLOYABLE[app]!.shape['PORT'] as { parse(v: unknown): number }).parse(undefined))).toBe(port);
      const objects = renderKustomization(path.join(ROOT, 'deploy', 'k8s', 'base'));
      const deployment = objects.find((object) => object.kind === 'Deployment' && object.metadata.name === app)!;
      const ports = (containersOf(deployment)[0]!['ports'] as Array<{ containerPort: number }>).map((p) =>
        String(p.containerPort),
      );
      expect(ports).toEqual([port]);
    },
  );

  it('the migrate target applies prisma/migrations with tools/prisma-migrate/apply.mjs', () => {
    expect(cmdOf('migrate')).toEqual(['node', 'tools/prisma-migrate/apply.mjs']);
    expect(copies(stage('migrate'))).toEqual(
      expect.arrayContaining([
        { from: 'build', source: '/src/prisma/migrations', target: './prisma/migrations' },
        { from: 'build', source: '/src/tools/prisma-migrate/apply.mjs', target: './tools/prisma-migrate/apply.mjs' },
      ]),
    );
  });

  describe('after `npm run build` (what the build stage runs)', () => {
    let built: { status: number | null; output: string };
    const started = Date.now();
    beforeAll(() => {
      const result = spawnSync('npm', ['run', 'build'], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, NX_DAEMON: 'false' },
      });
      built = { status: result.status, output: `${result.stdout}\n${result.stderr}` };
    });

    it('succeeds', () => {
      expect(built).toMatchObject({ status: 0 });
    });

    it.each(apps)('%s: every file the image copies from the build exists, freshly built', (app) => {
      for (const copy of copies(stage(app)).filter((c) => c.from === 'build')) {
        const source = path.join(ROOT, path.posix.relative('/src', copy.source));
        expect(existsSync(source)).toBe(true);
        if (source.includes(`${path.sep}dist${path.sep}`))
          expect(newestMtime(source)).toBeGreaterThanOrEqual(started - 1000);
      }
      const entry = builtSourceOf(app, `/app/${cmdOf(app).at(-1)}`)!;
      expect(statSync(entry).mtimeMs).toBeGreaterThanOrEqual(started - 1000);
    });

    it.each(apps)('%s: every package its bundle loads is a production dependency the image installs', (app) => {
      const bundle = readFileSync(path.join(ROOT, 'dist', 'apps', app, 'main.js'), 'utf8');
      const packages = new Set(
        [...bundle.matchAll(/(?:require|import)\("([^".][^"]*)"\)/g)]
          .map((match) => match[1]!)
          .filter((specifier) => !specifier.startsWith('node:'))
          .map((specifier) =>
            specifier
              .split('/')
              .slice(0, specifier.startsWith('@') ? 2 : 1)
              .join('/'),
          ),
      );
      expect(packages.size).toBeGreaterThan(0);
      const { dependencies } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
        dependencies: Record<string, string>;
      };
      // The runtime image's node_modules is `npm ci --omit=dev` minus what `rm` drops (the agent SDK, for the supervisor).
      const setAside = stage('prod-deps')
        .instructions.filter((i) => i.keyword === 'RUN')
        .flatMap((i) =>
          [...i.args.matchAll(/\brm\s+-rf\s+((?:node_modules\/\S+\s*)+)/g)].flatMap((match) =>
            match[1]!.trim().split(/\s+/),
          ),
        )
        .map((moved) => new RegExp(`^${moved.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}(/|$)`));
      expect(setAside.length).toBeGreaterThan(0);
      for (const name of packages) {
        expect([name, name in dependencies]).toEqual([name, true]);
        expect([name, setAside.some((moved) => moved.test(`node_modules/${name}`))]).toEqual([name, false]);
      }
    });

    it('the gateway image carries the dashboard and the supervisor image the worker bundle', () => {
      expect(existsSync(builtSourceOf('gateway', '/app/dist/apps/dashboard/index.html')!)).toBe(true);
      expect(existsSync(builtSourceOf('supervisor', '/app/dist/worker/worker.js')!)).toBe(true);
      expect(copies(stage('supervisor'))).toEqual(
        expect.arrayContaining([
          { from: 'agent-sdk', source: '/agent-sdk/@anthropic-ai', target: './node_modules/@anthropic-ai' },
        ]),
      );
      expect(readFileSync(path.join(ROOT, 'dist', 'worker', 'worker.js'), 'utf8')).toContain(
        '@anthropic-ai/claude-agent-sdk',
      );
    });

    it.each(apps)(
      "%s: the image's command loads the bundle with plain node and validates its env at start",
      async (app) => {
        const argv = cmdOf(app);
        // The image's env with one bad value: the process must get as far as parsing it (every import
        // resolved from node_modules), then exit 1 naming it.
        const env = { PATH: process.env['PATH'] ?? '', ...stageEnv(stages, app), PORT: 'not-a-port' };
        const result = await run(argv[0] === 'node' ? process.execPath : argv[0]!, argv.slice(1), env);
        expect(result.code).toBe(1);
        expect(result.output).toContain('invalid configuration');
        expect(result.output).toMatch(/PORT: /);
      },
    );
  });
});

/** The newest modification time of a file, or of the files under a directory. */
function newestMtime(entry: string): number {
  const stat = statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(entry).map((child) => newestMtime(path.join(entry, child))));
}

function run(
  command: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('docker/compose.yaml', () => {
  const compose = parse(readFileSync(path.join(ROOT, 'docker', 'compose.yaml'), 'utf8'), { merge: true }) as {
    services: Record<
      string,
      {
        build?: { context: string; dockerfile: string; target: string };
        environment?: Record<string, string>;
        depends_on?: Record<string, { condition: string }> | string[];
      }
    >;
  };
  const keyRing = JSON.stringify([{ kty: 'oct', kid: 'compose-test', k: Buffer.alloc(32, 7).toString('base64url') }]);
  /** Compose's `${VAR:?message}` interpolation, with the variables a user exports. */
  const interpolate = (value: string) => String(value).replace(/\$\{AUTH_KEYS:\?[^}]*\}/g, keyRing);

  it('runs Redis, PostgreSQL, the migration and every app', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['edge', 'migrate', 'postgres', 'redis', ...apps].sort());
    expect(compose.services['migrate']?.build).toMatchObject({
      context: '..',
      dockerfile: 'docker/Dockerfile',
      target: 'migrate',
    });
  });

  it.each(apps)(
    '%s: built from its Dockerfile target, started after the migration, with an env its schema accepts (auth on)',
    (app) => {
      const service = compose.services[app]!;
      expect(service.build).toEqual({ context: '..', dockerfile: 'docker/Dockerfile', target: app });
      expect(service.depends_on).toMatchObject({ migrate: { condition: 'service_completed_successfully' } });
      const env = {
        ...stageEnv(stages, app),
        ...Object.fromEntries(
          Object.entries(service.environment ?? {}).map(([key, value]) => [key, interpolate(value)]),
        ),
      };
      const { shape, start } = DEPLOYABLE[app]!;
      expect(Object.keys(env).filter((name) => !(name in shape))).toEqual([]);
      for (const name of requiredVariables(shape)) expect(env).toHaveProperty([name]);
      const parsed = start(env);
      if ('AUTH_MODE' in shape) expect(effectiveAuthMode(parsed)).toBe('on');
      expect(String(parsed.PORT)).toBe(stageEnv(stages, app)['PORT']);
    },
  );

  it('the edge routes like the Ingress', () => {
    const conf = readFileSync(path.join(ROOT, 'docker', 'edge.nginx.conf'), 'utf8');
    // proxy_pass names an upstream block, whose one server is the compose service on its image's port.
    const upstreams = Object.fromEntries(
      [...conf.matchAll(/upstream ([\w-]+) \{\s*server ([\w-]+):(\d+);[^}]*\}/g)].map((m) => [
        m[1]!,
        { host: m[2]!, port: m[3]! },
      ]),
    );
    const locations = [...conf.matchAll(/location\s+(~\s+)?(\S+)\s*\{[^}]*?proxy_pass\s+http:\/\/([\w-]+);/g)].map(
      (m) => ({ regex: Boolean(m[1]), path: m[2]!, service: m[3]! }),
    );
    for (const { service } of locations) {
      expect(upstreams[service]).toEqual({ host: service, port: stageEnv(stages, service)['PORT'] });
      expect(compose.services).toHaveProperty([service]);
    }
    // nginx: the longest matching prefix, unless a regex location (tried in order) matches.
    const route = (uri: string) =>
      locations.find((location) => location.regex && new RegExp(location.path).test(uri))?.service ??
      locations
        .filter((location) => !location.regex && uri.startsWith(location.path))
        .sort((a, b) => b.path.length - a.path.length)[0]?.service;
    expect(route('/api/v1/sandboxes/sb-1/events')).toBe('ingest');
    expect(route('/api/v1/sandboxes/sb-1/events/batch')).toBe('ingest');
    expect(route('/api/v1/sandboxes/sb-1/messages')).toBe('message-queue');
    expect(route('/api/v1/sandboxes/sb-1/token')).toBe('supervisor');
    expect(route('/api/v1/sandboxes/sb-1/task')).toBe('supervisor');
    expect(route('/api/v1/sandboxes/sb-1/task-complete')).toBe('supervisor');
    expect(route('/api/v1/sandboxes/sb-1/tasks')).toBe('gateway');
    expect(route('/api/v1/events/ws/events')).toBe('gateway');
    expect(route('/api/v1/ws/events')).toBe('gateway');
    expect(route('/api/v1/tasks/t-1/stop')).toBe('supervisor');
    expect(route('/api/v1/tickets/T-1/branch')).toBe('branch-workflow');
    expect(route('/api/v1/sandboxes/sb-1/trajectory')).toBe('ingest');
    expect(route('/api/v1/branch-workflow/start')).toBe('branch-workflow');
    expect(route('/api/v1/branch-workflow/status')).toBe('branch-workflow');
    expect(route('/api/v1/sandboxes')).toBe('gateway');
    expect(route('/api/v1/openapi.json')).toBe('gateway');
    expect(locations).toContainEqual({ regex: false, path: '/api/v1/openapi.json', service: 'gateway' });
    expect(route('/')).toBe('gateway');
    expect(conf).toMatch(/location = \/metrics \{\s*return 404;\s*\}/);
    // The live stream: an hour's timeouts (the upgrade headers are the http level's, below).
    expect(conf).toMatch(/location \/api\/v1\/events\/ws \{[^}]*proxy_read_timeout 3600s;[^}]*proxy_buffering off;/);
    // The original system's WebSocket: upgraded too, and unlogged (its client puts its token in the query).
    expect(conf).toMatch(/location \/api\/v1\/ws\/events \{[^}]*proxy_read_timeout 3600s;[^}]*access_log off;/);
  });

  it('the edge keeps upstream connections alive and sends every location the same proxy headers', () => {
    const conf = readFileSync(path.join(ROOT, 'docker', 'edge.nginx.conf'), 'utf8');
    const code = conf.replace(/#.*$/gm, '');
    const upstreams = [...code.matchAll(/upstream ([\w-]+) \{([^}]*)\}/g)];
    expect(upstreams.length).toBeGreaterThan(0);
    for (const [, name, body] of upstreams)
      expect({ name, body }).toEqual({ name, body: expect.stringMatching(/keepalive \d+;/) });
    // Pooled connections need HTTP/1.1 and no `Connection: close`; an upgrade passes Upgrade and Connection on.
    const http = code.slice(code.indexOf('http {'), code.indexOf('server {'));
    expect(http).toMatch(/map \$http_upgrade \$connection_upgrade \{\s*default upgrade;\s*'' '';\s*\}/);
    for (const directive of [
      'proxy_http_version 1.1;',
      'proxy_set_header Upgrade $http_upgrade;',
      'proxy_set_header Connection $connection_upgrade;',
      'proxy_set_header Host $host;',
      'proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
      'proxy_set_header X-Request-Id $request_id;',
    ])
      expect(http).toContain(directive);
    // nginx drops the http level's proxy_set_header lines in a location that sets one of its own.
    expect(code.slice(code.indexOf('server {'))).not.toMatch(/proxy_set_header|proxy_http_version/);
    // Not resending a POST that may have been processed is nginx's default, and stays.
    expect(code).not.toMatch(/proxy_next_upstream/);
  });
});
