import path from 'node:path';
import { containersOf, renderKustomization } from '../src/kustomize';
import {
  APPS,
  App,
  ENGINE,
  ROOT,
  TARGETS,
  composeKeys,
  engine,
  engineOk,
  edgeCall,
  eventually,
  expectEventOnWebSocket,
  operatorToken,
  readyInside,
  sandboxToken,
  stopWithin,
  tool,
} from './support';

// `npm run images` then `npm run compose`, exercised for real: what a user gets from the Dockerfile
// and docker/compose.yaml, checked through the edge the way the README uses it.
const EDGE_PORT = process.env['EDGE_PORT'] ?? '18000';
const EDGE = `http://127.0.0.1:${EDGE_PORT}`;
const container = (service: string) =>
  ENGINE === 'docker' ? `sandbox-relay-${service}-1` : `sandbox-relay_${service}_1`;
const deployments = renderKustomization(path.join(ROOT, 'deploy', 'k8s', 'overlays', 'local')).filter(
  (o) => o.kind === 'Deployment',
);
const podSpec = (app: string) =>
  (
    deployments.find((d) => d.metadata.name === app) as unknown as {
      spec: { template: { spec: Record<string, unknown> } };
    }
  ).spec.template.spec;
const SERVICES = Object.keys(APPS) as App[];
const MB = 1e6;

let token = '';
const timings: Record<string, number> = {};

beforeAll(() => {
  timings['images'] = tool('images.mjs');
  timings['compose up'] = tool('compose.mjs', ['up', '--no-build'], { EDGE_PORT });
  token = operatorToken(composeKeys());
}, 60 * 60_000);

afterAll(() => {
  try {
    timings['compose down'] = tool('compose.mjs', ['down'], { EDGE_PORT }, 5 * 60_000);
  } finally {
    process.stderr.write(`[containers] timings (s): ${JSON.stringify(timings)}\n`);
  }
}, 6 * 60_000);

const call = (method: string, url: string, body?: unknown, bearer: string | undefined = token) =>
  edgeCall(EDGE, method, url, body, bearer);

describe('the images', () => {
  it.each([...TARGETS])('%s: runs as the unprivileged node user; its size is printed and small', (target) => {
    // migrate is the shared runtime (base image + production node_modules) plus a few kB of migrations.
    const base = Number(engineOk(['image', 'inspect', '--format', '{{.Size}}', 'sandbox-relay/migrate']));
    const image = `sandbox-relay/${target}`;
    expect(engineOk(['image', 'inspect', '--format', '{{.Config.User}}', image])).toBe('node');
    const bytes = Number(engineOk(['image', 'inspect', '--format', '{{.Size}}', image]));
    process.stderr.write(`[containers] ${image}: ${(bytes / MB).toFixed(0)} MB\n`);
    // Every service shares the runtime layers (base + production node_modules) with migrate; what each adds is its bundle.
    if (target !== 'supervisor') expect(bytes - base).toBeLessThan(20 * MB);
    expect(base).toBeLessThan(650 * MB);
  });

  it.each(SERVICES.filter((app) => app !== 'supervisor'))(
    '%s: carries neither the Claude Code binary nor the Prisma CLI or TypeScript',
    (app) => {
      const listing = engineOk([
        'run',
        '--rm',
        '--entrypoint',
        'ls',
        `sandbox-relay/${app}`,
        'node_modules',
        'node_modules/@anthropic-ai',
      ]);
      expect(listing.split(/\s+/)).not.toEqual(expect.arrayContaining(['claude-agent-sdk-linux-x64']));
      expect(listing.split(/\s+/)).not.toContain('claude-agent-sdk');
      expect(listing.split(/\s+/)).not.toContain('prisma');
      expect(listing.split(/\s+/)).not.toContain('typescript');
    },
  );
});

describe('npm run compose', () => {
  it.each(SERVICES)('%s: /readyz is green on its own port', async (app) => {
    const response = await fetch(`http://127.0.0.1:${APPS[app]}/readyz`);
    expect(response.status).toBe(200);
  });

  it('auth is on at the edge: no token 401, an operator token 200', async () => {
    expect((await call('GET', '/api/v1/sandboxes/ct-auth/events?limit=5', undefined, '')).status).toBe(401);
    expect((await call('GET', '/api/v1/sandboxes/ct-auth/events?limit=5')).status).toBe(200);
  });

  it('an event posted to the edge reaches a WebSocket watching that sandbox through the edge', async () => {
    const sandbox = `ct-ws-${Date.now()}`;
    await expectEventOnWebSocket(EDGE, {
      viewer: token,
      worker: sandboxToken(composeKeys(), sandbox),
      sandbox,
      command: 'echo ws',
    });
  });

  it('a message to a sandbox is queued and listed through the edge', async () => {
    const sandbox = `ct-msg-${Date.now()}`;
    const posted = await call('POST', `/api/v1/sandboxes/${sandbox}/messages`, {
      message_type: 'user_message',
      content: 'hello from the container tier',
    });
    expect(posted.status).toBeLessThan(300);
    const listed = await call('GET', `/api/v1/sandboxes/${sandbox}/messages`);
    expect(listed.status).toBe(200);
    expect(JSON.stringify(listed.json)).toContain('hello from the container tier');
  });

  it('a task on the local provider runs its worker in the supervisor container, reporting through the edge', async () => {
    const plan = { complete_when_done: true, steps: [{ run: 'echo container-tier-$((6*7))' }] };
    const task = await call('POST', '/api/v1/tasks', { title: 'container tier', plan });
    expect(task.status).toBeLessThan(300);
    const sandbox = task.json.sandbox_id as string;
    await eventually(
      "the worker's command output in the sandbox history",
      async () => {
        const history = await call('GET', `/api/v1/sandboxes/${sandbox}/events?limit=200`);
        return JSON.stringify(history.json).includes('container-tier-42');
      },
      90_000,
    );
  });

  it.each(SERVICES)(
    "%s: the image runs with the manifests' read-only root, non-root user and no capabilities, and drains on SIGTERM (143 within the grace period)",
    async (app) => {
      const spec = podSpec(app);
      const securityContext = (containersOf({
        kind: 'Deployment',
        metadata: { name: app },
        spec: { template: { spec } },
      } as never)[0]!['securityContext'] ?? {}) as Record<string, unknown>;
      expect(securityContext['readOnlyRootFilesystem']).toBe(true);
      const grace = spec['terminationGracePeriodSeconds'] as number;
      // The compose container's own environment (its connections, key ring, port), on compose's network.
      const env = (
        JSON.parse(engineOk(['inspect', '--format', '{{json .Config.Env}}', container(app)])) as string[]
      ).filter((pair) => !/^(HOSTNAME|container)=/.test(pair));
      const network = Object.keys(
        JSON.parse(engineOk(['inspect', '--format', '{{json .NetworkSettings.Networks}}', container(app)])) as Record<
          string,
          unknown
        >,
      )[0]!;
      const name = `sandbox-relay-ro-${app}`;
      engine(['rm', '-f', name]);
      engineOk([
        'run',
        '-d',
        '--name',
        name,
        '--network',
        network,
        '--read-only',
        '--tmpfs',
        '/tmp',
        '--user',
        '1000:1000',
        '--cap-drop',
        'ALL',
        '--security-opt',
        'no-new-privileges',
        ...env.flatMap((pair) => ['-e', pair]),
        `sandbox-relay/${app}`,
      ]);
      try {
        await eventually(`${app} /readyz (read-only)`, () => readyInside(name, APPS[app]), 60_000);
        const stopped = stopWithin(name, grace);
        process.stderr.write(
          `[containers] ${app}: SIGTERM → exit ${stopped.code} in ${stopped.seconds.toFixed(1)} s (grace ${grace} s)\n`,
        );
        expect(stopped.code).toBe(143);
        expect(stopped.seconds).toBeLessThan(grace);
      } finally {
        engine(['rm', '-f', name]);
      }
    },
  );

  it.each(SERVICES)('%s: the compose container drains on SIGTERM too (exit 143)', (app) => {
    const stopped = stopWithin(container(app), 40);
    expect(stopped).toMatchObject({ code: 143 });
  });
});
