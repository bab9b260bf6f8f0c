import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { CANARY_SANDBOX_ID, EVENTS_WS_PATH, OMOIOS_WS_PATH } from '@sandbox-relay/contracts';
import { DEPLOYABLE, NOT_DEPLOYED, ROOT, appsWithMain, effectiveAuthMode, requiredVariables } from './apps';
import { containerEnv, containersOf, renderKustomization, type Container, type K8sObject } from './kustomize';

const K8S = path.join(ROOT, 'deploy', 'k8s');
const base = renderKustomization(path.join(K8S, 'base'));
const local = renderKustomization(path.join(K8S, 'overlays', 'local'));

const find = (objects: K8sObject[], kind: string, name: string) =>
  objects.find((object) => object.kind === kind && object.metadata.name === name);
const spec = <T>(object: K8sObject | undefined) => (object?.['spec'] ?? {}) as T;

interface Probe {
  httpGet?: { path: string; port: string | number };
  periodSeconds?: number;
  failureThreshold?: number;
}

interface Port {
  name?: string;
  containerPort?: number;
  port?: number;
  targetPort?: string | number;
}

const apps = Object.keys(DEPLOYABLE);

describe('kubernetes manifests', () => {
  it('deploy exactly the apps tools/build.mjs bundles (but the standalone)', () => {
    expect(apps.sort()).toEqual(appsWithMain().filter((app) => !NOT_DEPLOYED.has(app)));
    expect(
      base
        .filter((object) => object.kind === 'Deployment')
        .map((object) => object.metadata.name)
        .sort(),
    ).toEqual(apps.sort());
  });

  describe.each(apps)('%s', (app) => {
    const deployment = find(local, 'Deployment', app);
    const containers = deployment ? containersOf(deployment) : [];
    const container = containers[0] as Container;
    const env = () => containerEnv(container, local);

    it('has a Deployment with one container running its own image as a non-root user', () => {
      expect(deployment).toBeDefined();
      expect(containers).toHaveLength(1);
      expect(container.image).toBe(`sandbox-relay/${app}:local`);
      const podSpec = spec<{ template: { spec: { securityContext: Record<string, unknown> } } }>(deployment).template
        .spec;
      expect(podSpec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
      expect(container['securityContext']).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
    });

    it('probes readiness on /readyz and liveness on /healthz, on the port it listens on', () => {
      const readiness = container['readinessProbe'] as Probe;
      const liveness = container['livenessProbe'] as Probe;
      expect(readiness.httpGet).toEqual({ path: '/readyz', port: 'http' });
      expect(liveness.httpGet).toEqual({ path: '/healthz', port: 'http' });
      const http = (container['ports'] as Port[]).find((port) => port.name === 'http');
      expect(http?.containerPort).toBe(Number(env()['PORT']));
      expect(DEPLOYABLE[app]!.start(env()).PORT).toBe(http?.containerPort);
    });

    it('asks for resources and caps them', () => {
      const resources = container['resources'] as {
        requests?: Record<string, unknown>;
        limits?: Record<string, unknown>;
      };
      expect(Object.keys(resources.requests ?? {}).sort()).toEqual(['cpu', 'memory']);
      expect(Object.keys(resources.limits ?? {}).sort()).toEqual(['cpu', 'memory']);
    });

    it('gets every variable its env schema requires, none it does not know, and starts with auth on', () => {
      const provided = env();
      const { shape, start } = DEPLOYABLE[app]!;
      for (const name of requiredVariables(shape)) expect(provided).toHaveProperty([name]);
      expect(Object.keys(provided).filter((name) => !(name in shape))).toEqual([]);
      const parsed = start(provided);
      expect(parsed.HOST).toBe('0.0.0.0');
      if ('AUTH_MODE' in shape) {
        expect(effectiveAuthMode(parsed)).toBe('on');
        expect(parsed.AUTH_MODE).toBe('on');
        expect(parsed.AUTH_KEYS).toEqual(
          expect.arrayContaining([expect.objectContaining({ kid: expect.any(String) })]),
        );
      }
    });

    it('the base alone names the same variables (the overlay only changes values and adds secrets)', () => {
      const baseContainer = containersOf(find(base, 'Deployment', app)!)[0]!;
      const configKeys = (c: Container, objects: K8sObject[]) =>
        ((c['envFrom'] as Array<{ configMapRef?: { name: string } }>) ?? [])
          .flatMap((source) =>
            source.configMapRef
              ? Object.keys((find(objects, 'ConfigMap', source.configMapRef.name)?.['data'] as object) ?? {})
              : [],
          )
          .sort();
      expect(configKeys(baseContainer, base)).toEqual(configKeys(container, local));
      expect(configKeys(baseContainer, base)).toContain('PORT');
    });

    it('has a Service selecting its pods on the same port, and is scraped for /metrics there', () => {
      const service = find(local, 'Service', app);
      const selector = spec<{ selector: Record<string, string> }>(service).selector;
      const podLabels = spec<{
        template: { metadata: { labels: Record<string, string>; annotations: Record<string, string> } };
      }>(deployment).template.metadata;
      expect(Object.entries(selector).every(([key, value]) => podLabels.labels[key] === value)).toBe(true);
      const ports = spec<{ ports: Port[] }>(service).ports;
      expect(ports).toEqual([
        expect.objectContaining({ name: 'http', port: Number(env()['PORT']), targetPort: 'http' }),
      ]);
      expect(podLabels.annotations).toMatchObject({
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': env()['PORT'],
        'prometheus.io/path': '/metrics',
      });
    });

    it('has a disruption budget that takes one pod at a time', () => {
      const budget = find(local, 'PodDisruptionBudget', app);
      expect(spec<{ maxUnavailable: number; selector: { matchLabels: Record<string, string> } }>(budget)).toEqual({
        maxUnavailable: 1,
        selector: {
          matchLabels: spec<{ selector: { matchLabels: Record<string, string> } }>(deployment).selector.matchLabels,
        },
      });
    });

    it('gives graceful shutdown more time than the service takes for it', () => {
      const podSpec = spec<{ template: { spec: { terminationGracePeriodSeconds: number } } }>(deployment).template.spec;
      const shutdownMs = Number(env()['SHUTDOWN_TIMEOUT_MS'] ?? 25_000);
      expect(podSpec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(shutdownMs + 5_000);
    });
  });

  it('the gateway runs its canary with a bound longer than its interval and than the readiness period', () => {
    const gateway = containersOf(find(local, 'Deployment', 'gateway')!)[0]!;
    const env = containerEnv(gateway, local);
    expect(Number(env['CANARY_MAX_AGE_MS'])).toBeGreaterThan(Number(env['CANARY_INTERVAL_MS']));
    expect(env['CANARY_ENABLED'] ?? 'true').toBe('true');
    expect(CANARY_SANDBOX_ID).toMatch(/^__/);
  });

  it("runs the migrations as a Job with the migrate image and the services' database", () => {
    const job = find(local, 'Job', 'relay-migrate');
    const [container] = containersOf(job!);
    expect(container?.image).toBe('sandbox-relay/migrate:local');
    const env = containerEnv(container!, local);
    expect(Object.keys(env)).toEqual(['DATABASE_URL']);
    expect(env['DATABASE_URL']).toBe(
      containerEnv(containersOf(find(local, 'Deployment', 'ingest')!)[0]!, local)['DATABASE_URL'],
    );
    expect(spec<{ template: { spec: { restartPolicy: string } } }>(job).template.spec.restartPolicy).toBe('OnFailure');
  });

  it("puts everything in the overlay's namespace, and the local Redis and PostgreSQL behind the URLs the services use", () => {
    expect(
      new Set(local.filter((object) => object.kind !== 'Namespace').map((object) => object.metadata.namespace)),
    ).toEqual(new Set(['sandbox-relay-local']));
    const env = containerEnv(containersOf(find(local, 'Deployment', 'ingest')!)[0]!, local);
    expect(new URL(env['DATABASE_URL']!).hostname).toBe(find(local, 'Service', 'postgres')?.metadata.name);
    expect(new URL(env['REDIS_URL']!).hostname).toBe(find(local, 'Service', 'redis')?.metadata.name);
  });
});

interface IngressPath {
  path: string;
  pathType: 'Prefix' | 'Exact' | 'ImplementationSpecific';
  backend: { service: { name: string; port: { name?: string; number?: number } } };
}

interface Route {
  ingress: K8sObject;
  path: IngressPath;
}

/**
 * Which backend ingress-nginx sends `requestPath` to: with `use-regex` every path is a
 * case-insensitive regular expression anchored at the start, and the longest matching path wins.
 */
function route(requestPath: string): Route | undefined {
  const candidates: Route[] = [];
  for (const ingress of local.filter((object) => object.kind === 'Ingress')) {
    const regex = ingress.metadata.annotations?.['nginx.ingress.kubernetes.io/use-regex'] === 'true';
    for (const rule of spec<{ rules: Array<{ http: { paths: IngressPath[] } }> }>(ingress).rules) {
      for (const candidate of rule.http.paths) {
        const matches = regex
          ? new RegExp(`^${candidate.path}`, 'i').test(requestPath)
          : candidate.pathType === 'Exact'
            ? requestPath === candidate.path
            : requestPath === candidate.path ||
              requestPath.startsWith(candidate.path.endsWith('/') ? candidate.path : `${candidate.path}/`);
        if (matches) candidates.push({ ingress, path: candidate });
      }
    }
  }
  return candidates.sort((a, b) => b.path.path.length - a.path.path.length)[0];
}

describe('ingress', () => {
  it.each([
    ['/api/v1/sandboxes/sb-1/events', 'ingest'],
    ['/api/v1/sandboxes/sb-1/events/batch', 'ingest'],
    ['/api/v1/sandboxes/sb.1_x-2/events?after=10&limit=5', 'ingest'],
    ['/api/v1/sandboxes/sb-1/messages', 'message-queue'],
    ['/api/v1/sandboxes/sb-1/messages?since=5', 'message-queue'],
    ['/api/v1/sandboxes/sb-1/token', 'supervisor'],
    ['/api/v1/sandboxes/sb-1/task', 'supervisor'],
    ['/api/v1/sandboxes/sb-1/task-complete', 'supervisor'],
    ['/api/v1/events/ws/events', 'gateway'],
    ['/api/v1/ws/events?token=t&entity_ids=sb-1', 'gateway'],
    ['/api/v1/tasks', 'supervisor'],
    ['/api/v1/tasks/3f1c/stop', 'supervisor'],
    ['/api/v1/tickets/T-1/branch', 'branch-workflow'],
    ['/api/v1/tickets/T-1/merge', 'branch-workflow'],
    ['/api/v1/sandboxes/sb-1/trajectory', 'ingest'],
    ['/api/v1/sandboxes/sb-1/trajectory?limit=100&cursor=42&direction=older', 'ingest'],
    ['/api/v1/branch-workflow/start', 'branch-workflow'],
    ['/api/v1/branch-workflow/status', 'branch-workflow'],
    ['/api/v1/sandboxes', 'gateway'],
    ['/api/v1/sandboxes/sb-1', 'gateway'],
    ['/api/v1/openapi.json', 'gateway'],
    ['/', 'gateway'],
    ['/assets/index-abc.js', 'gateway'],
  ])('routes %s to %s', (requestPath, service) => {
    const match = route(requestPath.split('?')[0]!);
    expect(match?.path.backend.service.name).toBe(service);
    expect(match?.path.backend.service.port.name).toBe('http');
    expect(find(local, 'Service', service)).toBeDefined();
  });

  it.each(apps)('sends every API route %s defines to it', (app) => {
    const dir = path.join(ROOT, 'apps', app, 'src');
    const sources = readdirSync(dir)
      .filter((file) => file.endsWith('.ts') && !file.endsWith('.spec.ts'))
      .map((file) => readFileSync(path.join(dir, file), 'utf8'));
    const paths = sources.flatMap((source) =>
      [...source.matchAll(/(?:router|app)\.(?:get|post|put|patch|delete|use)\(\s*'(\/api\/[^']*)'/g)].map(
        (match) => match[1]!,
      ),
    );
    if (app === 'gateway') paths.push(EVENTS_WS_PATH, OMOIOS_WS_PATH);
    // The guardian serves no API (health and metrics only); every other app does.
    if (app === 'guardian') expect(paths).toEqual([]);
    else expect(paths.length).toBeGreaterThan(0);
    for (const routePath of paths) {
      const concrete = routePath.replace(/:[A-Za-z]+/g, 'x-1');
      expect([routePath, route(concrete)?.path.backend.service.name]).toEqual([routePath, app]);
    }
  });

  it.each([EVENTS_WS_PATH, OMOIOS_WS_PATH])(
    "keeps WebSockets on %s open past nginx's 60 s default (the gateway pings every 30 s)",
    (wsPath) => {
      const match = route(wsPath);
      const annotations = match?.ingress.metadata.annotations ?? {};
      expect(match?.path.backend.service.name).toBe('gateway');
      expect(annotations['nginx.ingress.kubernetes.io/proxy-http-version']).toBe('1.1');
      expect(Number(annotations['nginx.ingress.kubernetes.io/proxy-read-timeout'])).toBeGreaterThanOrEqual(3600);
      expect(Number(annotations['nginx.ingress.kubernetes.io/proxy-send-timeout'])).toBeGreaterThanOrEqual(3600);
      const gateway = containerEnv(containersOf(find(local, 'Deployment', 'gateway')!)[0]!, local);
      expect(Number(gateway['WS_PING_INTERVAL_MS']) / 1000).toBeLessThan(
        Number(annotations['nginx.ingress.kubernetes.io/proxy-read-timeout']),
      );
    },
  );

  it("keeps the original WebSocket's tokens (in its query string) out of the access log, and only its", () => {
    expect(route(OMOIOS_WS_PATH)?.ingress.metadata.annotations?.['nginx.ingress.kubernetes.io/enable-access-log']).toBe(
      'false',
    );
    for (const logged of [EVENTS_WS_PATH, '/api/v1/sandboxes/sb-1/events', '/']) {
      expect(
        route(logged)?.ingress.metadata.annotations?.['nginx.ingress.kubernetes.io/enable-access-log'],
      ).toBeUndefined();
    }
  });

  it('refuses /metrics to every client that comes through the Ingress', () => {
    const match = route('/metrics');
    expect(match?.ingress.metadata.annotations?.['nginx.ingress.kubernetes.io/denylist-source-range']).toBe(
      '0.0.0.0/0,::/0',
    );
  });

  it("lets a full batch through (the ingest's batch body limit)", () => {
    const match = route('/api/v1/sandboxes/sb-1/events/batch');
    expect(match?.ingress.metadata.annotations?.['nginx.ingress.kubernetes.io/proxy-body-size']).toBe('16m');
    const ingest = DEPLOYABLE['ingest']!.start(
      containerEnv(containersOf(find(local, 'Deployment', 'ingest')!)[0]!, local),
    ) as { BATCH_BODY_LIMIT?: string };
    expect(ingest.BATCH_BODY_LIMIT).toBe('16mb');
  });
});
