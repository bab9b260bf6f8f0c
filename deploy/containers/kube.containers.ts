import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { K8sObject, containerEnv, containersOf, renderKustomization } from '../src/kustomize';
import {
  APPS,
  App,
  ENGINE,
  ROOT,
  TARGETS,
  engine,
  engineOk,
  edgeCall,
  expectEventOnWebSocket,
  operatorToken,
  sandboxToken,
  tool,
} from './support';

// `npm run test:kube`: the rendered local overlay started with `podman kube play`
// (tools/containers/kube.mjs says what it transforms for podman: Services → network aliases, the
// Ingress → the compose edge's nginx, Secrets → podman secrets, the Job → a Pod, container ports
// dropped, emptyDirs per pod). The same smoke checks as the compose tier, against the manifests'
// own probes, environment, Secrets, security context and grace periods. Runs the images tagged
// :local as they are (what the overlay names); only missing ones are built (`npm run images -- <target>`),
// so rebuild with `npm run images` to test a changed checkout. Podman only: skipped with docker.
const OVERLAY = path.join(ROOT, 'deploy', 'k8s', 'overlays', 'local');
const objects = renderKustomization(OVERLAY);
const SERVICES = Object.keys(APPS) as App[];
const deployment = (name: string) => objects.find((o) => o.kind === 'Deployment' && o.metadata.name === name)!;
type PodSpec = { terminationGracePeriodSeconds?: number; securityContext?: Record<string, unknown> };
const podSpec = (o: K8sObject) => (o['spec'] as { template: { spec: PodSpec } }).template.spec;
const secret = (name: string, key: string) => {
  const data = objects.find((o) => o.kind === 'Secret' && o.metadata.name === name)!['data'] as Record<string, string>;
  return Buffer.from(data[key]!, 'base64').toString();
};
const KEYS = secret('relay-auth', 'keys');
const containerOf = (app: string) => `${app}-pod-0-${app}`;

interface State {
  pods: Record<string, { pod: string; ip: string }>;
}
let state: State;
let edge = '';
let token = '';
const podman = ENGINE === 'podman';
const maybe = podman ? describe : describe.skip;

function kube(args: string[]): string {
  const result = spawnSync(process.execPath, [path.join(ROOT, 'tools', 'containers', 'kube.mjs'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (result.status !== 0) throw new Error(`kube.mjs ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

beforeAll(() => {
  if (!podman) return;
  const missing = TARGETS.filter((target) => engine(['image', 'exists', `sandbox-relay/${target}:local`]).code !== 0);
  if (missing.length > 0) tool('images.mjs', [...missing]);
  tool('kube.mjs', ['up'], {}, 20 * 60_000);
  state = JSON.parse(readFileSync(path.join(ROOT, 'tmp', 'containers', 'kube', 'state.json'), 'utf8')) as State;
  edge = `http://${state.pods['edge']!.ip}:8080`;
  token = operatorToken(KEYS);
}, 60 * 60_000);

afterAll(() => {
  if (podman) tool('kube.mjs', ['down'], {}, 5 * 60_000);
}, 6 * 60_000);

const call = (method: string, url: string, body?: unknown, bearer: string | undefined = token) =>
  edgeCall(edge, method, url, body, bearer);

maybe('podman kube play of deploy/k8s/overlays/local', () => {
  it("the relay-migrate Job's pod ran to completion (exit 0)", () => {
    expect(engineOk(['inspect', '--format', '{{.State.ExitCode}}', 'relay-migrate-migrate'])).toBe('0');
    // …as the Job declares it: uid/gid 1000, read-only root, no capabilities, its DATABASE_URL from relay-connections.
    expect(
      engineOk([
        'inspect',
        '--format',
        '{{.Config.User}} {{.HostConfig.ReadonlyRootfs}} {{json .EffectiveCaps}}',
        'relay-migrate-migrate',
      ]),
    ).toMatch(/^1000:1000 true (null|\[\])$/);
    expect(engineOk(['inspect', '--format', '{{json .Config.Env}}', 'relay-migrate-migrate'])).toContain(
      `DATABASE_URL=${secret('relay-connections', 'database-url')}`,
    );
  });

  it("every pod's containers pass every probe the manifests declare (startup, readiness, liveness; Redis and PostgreSQL too)", () => {
    const results = JSON.parse(kube(['probes'])) as Record<string, Record<string, boolean>>;
    for (const name of [...SERVICES, 'redis', 'postgres']) {
      const declared = containersOf(deployment(name));
      for (const container of declared) {
        const probes = results[`${name}-pod-0-${container.name}`];
        expect({ container: container.name, probes }).toEqual({
          container: container.name,
          probes: expect.objectContaining({ readinessProbe: true }),
        });
        expect(Object.values(probes!).every(Boolean)).toBe(true);
      }
    }
  });

  it.each(SERVICES)("%s: /readyz is green on its pod's address", async (app) => {
    const response = await fetch(`http://${state.pods[app]!.ip}:${APPS[app]}/readyz`);
    expect(response.status).toBe(200);
  });

  it.each(SERVICES)("%s: the environment, Secrets and security context are the manifests'", (app) => {
    const spec = podSpec(deployment(app));
    const [declared] = containersOf(deployment(app));
    const expected = containerEnv(declared!, objects);
    // The one rewrite (tools/containers/kube.mjs): the ingress controller's address → the edge pod.
    if (expected['WORKER_RELAY_URL']?.includes('ingress-nginx')) expected['WORKER_RELAY_URL'] = 'http://edge:8080';
    const env = Object.fromEntries(
      (JSON.parse(engineOk(['inspect', '--format', '{{json .Config.Env}}', containerOf(app)])) as string[]).map(
        (pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)],
      ),
    );
    expect(env).toMatchObject(expected);
    // Every service with an HTTP edge runs with auth on and the Secret's key ring (the guardian has none: it takes neither).
    if (app !== 'guardian')
      expect({ AUTH_MODE: env['AUTH_MODE'], AUTH_KEYS: env['AUTH_KEYS'] }).toEqual({
        AUTH_MODE: 'on',
        AUTH_KEYS: KEYS,
      });
    else expect(env).not.toHaveProperty('AUTH_KEYS');

    const inspect = (format: string) => engineOk(['inspect', '--format', format, containerOf(app)]);
    const pod = spec.securityContext as { runAsUser: number; runAsGroup: number };
    const own = declared!['securityContext'] as {
      readOnlyRootFilesystem: boolean;
      allowPrivilegeEscalation: boolean;
      capabilities: { drop: string[] };
    };
    expect(inspect('{{.Config.User}}')).toBe(`${pod.runAsUser}:${pod.runAsGroup}`);
    expect(inspect('{{.HostConfig.ReadonlyRootfs}}')).toBe(String(own.readOnlyRootFilesystem));
    expect(own.capabilities.drop).toEqual(['ALL']);
    expect(inspect('{{json .EffectiveCaps}}')).toMatch(/^(null|\[\])$/);
    expect(own.allowPrivilegeEscalation).toBe(false);
    expect(inspect('{{json .HostConfig.SecurityOpt}}')).toContain('no-new-privileges');
    // The process really runs as that user, and only /tmp (the emptyDir) is writable.
    const write = (target: string) =>
      engine(['exec', containerOf(app), 'node', '-e', `require('fs').writeFileSync(${JSON.stringify(target)}, 'x')`])
        .code;
    expect(write('/tmp/kube-check')).toBe(0);
    expect(write('/app/kube-check')).not.toBe(0);
  });

  it("auth is on at the edge with the Secret's key ring: no token 401, an operator token 200", async () => {
    expect((await call('GET', '/api/v1/sandboxes/kube-auth/events?limit=5', undefined, '')).status).toBe(401);
    expect((await call('GET', '/api/v1/sandboxes/kube-auth/events?limit=5')).status).toBe(200);
  });

  it('an event posted to the edge reaches a WebSocket watching that sandbox through the edge', async () => {
    const sandbox = `kube-ws-${Date.now()}`;
    await expectEventOnWebSocket(edge, {
      viewer: token,
      worker: sandboxToken(KEYS, sandbox),
      sandbox,
      command: 'echo kube',
    });
  });

  it("a message is queued by an operator and drained once by the sandbox's worker through the edge", async () => {
    const sandbox = `kube-msg-${Date.now()}`;
    const posted = await call('POST', `/api/v1/sandboxes/${sandbox}/messages`, {
      message_type: 'user_message',
      content: 'hello from podman kube play',
    });
    expect(posted.status).toBeLessThan(300);
    const worker = sandboxToken(KEYS, sandbox);
    const drained = await call('GET', `/api/v1/sandboxes/${sandbox}/messages`, undefined, worker);
    expect(drained.status).toBe(200);
    expect(JSON.stringify(drained.json)).toContain('hello from podman kube play');
    const again = await call('GET', `/api/v1/sandboxes/${sandbox}/messages`, undefined, worker);
    expect(JSON.stringify(again.json)).not.toContain('hello from podman kube play');
  });

  it.each(SERVICES)('%s: preStop, then SIGTERM drains with exit 143 within terminationGracePeriodSeconds', (app) => {
    // podman runs no preStop hook and stops with its own 10 s default, not the grace period: both as the kubelet would, here.
    const spec = podSpec(deployment(app));
    const grace = spec.terminationGracePeriodSeconds!;
    const [declared] = containersOf(deployment(app));
    const preStop = (declared!['lifecycle'] as { preStop?: { exec: { command: string[] } } } | undefined)?.preStop;
    const started = Date.now();
    if (preStop) engineOk(['exec', containerOf(app), ...preStop.exec.command], grace * 1000);
    const left = Math.max(1, Math.floor(grace - (Date.now() - started) / 1000));
    engineOk(['stop', '-t', String(left), containerOf(app)], (left + 30) * 1000);
    const seconds = (Date.now() - started) / 1000;
    const code = Number(engineOk(['inspect', '--format', '{{.State.ExitCode}}', containerOf(app)]));
    process.stderr.write(
      `[kube] ${app}: preStop + SIGTERM → exit ${code} in ${seconds.toFixed(1)} s (grace ${grace} s)\n`,
    );
    expect(code).toBe(143);
    expect(seconds).toBeLessThan(grace);
  });
});
