// `node tools/containers/kube.mjs up|down`: the rendered Kubernetes manifests (deploy/k8s/overlays/local,
// rendered by the project's own renderer, deploy/src/kustomize.ts) started with `podman kube play`, one
// Deployment at a time, in the order a cluster would settle into: Redis and PostgreSQL, the migration,
// the services, the edge. Used by deploy/containers/kube.containers.ts (`npm run test:kube`).
//
// What podman 4.3 cannot express, and what is transformed for it (nothing else is changed):
// - Services: podman has none. Every Deployment's pod joins one podman network with the name of the
//   Service that selects it as its network alias (`--network sandbox-relay-kube:alias=<service>`), so
//   `redis`, `postgres`, `gateway`… resolve (aardvark-dns) as they would in the namespace.
// - Ingress: podman has none (and no ingress-nginx controller). Its routes are served by the compose
//   edge (docker/edge.nginx.conf, routed like deploy/k8s/base/ingress.yaml) as one more pod, alias `edge`;
//   the local overlay's WORKER_RELAY_URL (the ingress-nginx controller's in-cluster address) becomes
//   http://edge:8080. Reached from the host on the edge pod's address (rootful podman routes to it).
// - Secrets: `podman kube play` of a Secret stores its YAML, which its own secretKeyRef then refuses
//   ("is not valid JSON"); each rendered Secret is created with `podman secret create` as the JSON of its
//   `data`, which is what secretKeyRef reads. ConfigMaps are played as they are, next to each Deployment.
// - Jobs: not a kind podman plays. The relay-migrate Job's pod template runs as a Pod of that name
//   (restartPolicy as declared); it must exit 0 before the services start.
// - Container ports: podman 4.3 publishes every containerPort on the host (which would collide with the
//   host's own Redis/PostgreSQL and the compose tier); they are dropped, probes' named ports resolved to
//   their numbers first. Pods are reached on their network addresses instead.
// - emptyDir: podman 4.3 makes it a named volume called after the volume (`tmp`), shared by every pod
//   and owned by whichever user mounted it first; each pod's is renamed `sandbox-relay-kube-<app>-<name>`.
// - Images: redis:7-alpine / postgres:15-alpine, where they cannot be pulled, become the local
//   stand-ins of tools/containers/base-images.mjs (as in compose).
// - Namespace and PodDisruptionBudgets: nothing to play (one podman host, one replica each).
// What podman does not run, and the test does itself from the rendered manifests: readiness and
// startup probes (podman ignores them; a liveness probe becomes a healthcheck that needs systemd timers,
// absent here, and curl, absent from the images), preStop hooks and the Deployments' replica counts.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import { stringify } from 'yaml';
import { baseImages } from './base-images.mjs';
import { ROOT, engine, ensureDebianPackages, log, run } from './engine.mjs';

// The project's own renderer (TypeScript), the one the manifests' parse tests use.
const { renderKustomization, containersOf } = await tsImport('../../deploy/src/kustomize.ts', import.meta.url);

export const NETWORK = 'sandbox-relay-kube';
export const OVERLAY = path.join(ROOT, 'deploy', 'k8s', 'overlays', 'local');
const WORK = path.join(ROOT, 'tmp', 'containers', 'kube');
export const STATE_FILE = path.join(WORK, 'state.json');
const EDGE_CONF = path.join(ROOT, 'docker', 'edge.nginx.conf');
const INFRA = ['redis', 'postgres'];
const APPS = ['ingest', 'gateway', 'message-queue', 'guardian', 'supervisor', 'branch-workflow'];

/** The Service selecting a Deployment's pods (matchLabels ⊆ pod labels): its name is the pod's alias. */
function serviceOf(deployment, objects) {
  const labels = deployment.spec.template.metadata?.labels ?? {};
  const service = objects.find(
    (o) => o.kind === 'Service' && Object.entries(o.spec.selector ?? {}).every(([k, v]) => labels[k] === v),
  );
  if (!service) throw new Error(`no Service selects Deployment ${deployment.metadata.name}`);
  return service.metadata.name;
}

/** The pod spec as podman 4.3 can play it (see the header: ports dropped, emptyDirs renamed, images). */
function forPodman(name, podSpec, images) {
  const spec = structuredClone(podSpec);
  const renames = {};
  for (const volume of spec.volumes ?? []) {
    if (!volume.emptyDir) continue;
    renames[volume.name] = `${NETWORK}-${name}-${volume.name}`;
    volume.name = renames[volume.name];
  }
  for (const container of containersOf({ spec: { template: { spec } } })) {
    const ports = Object.fromEntries((container.ports ?? []).map((p) => [p.name, p.containerPort]));
    for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
      const http = container[probe]?.httpGet;
      if (http && typeof http.port === 'string') http.port = ports[http.port];
    }
    delete container.ports;
    for (const mount of container.volumeMounts ?? []) mount.name = renames[mount.name] ?? mount.name;
    container.image = images[container.image] ?? container.image;
  }
  return spec;
}

/** The rendered overlay and what podman is given for it. */
export function plan() {
  const objects = renderKustomization(OVERLAY);
  const stand = baseImages(['REDIS_IMAGE', 'POSTGRES_IMAGE', 'EDGE_IMAGE']);
  const images = { 'redis:7-alpine': stand.REDIS_IMAGE, 'postgres:15-alpine': stand.POSTGRES_IMAGE };
  const configMaps = objects
    .filter((o) => o.kind === 'ConfigMap')
    .map((o) => {
      const copy = structuredClone(o);
      if (copy.metadata.name === 'relay-supervisor-config' && copy.data.WORKER_RELAY_URL)
        copy.data.WORKER_RELAY_URL = 'http://edge:8080';
      return copy;
    });
  const secrets = objects
    .filter((o) => o.kind === 'Secret')
    .map((o) => ({ name: o.metadata.name, data: o.data ?? {} }));
  const deployments = objects.filter((o) => o.kind === 'Deployment');
  const job = objects.find((o) => o.kind === 'Job' && o.metadata.name === 'relay-migrate');
  const pods = [];
  for (const name of [...INFRA, ...APPS]) {
    const deployment = deployments.find((d) => d.metadata.name === name);
    if (!deployment) throw new Error(`the overlay renders no Deployment ${name}`);
    const played = { ...deployment, metadata: { ...deployment.metadata }, spec: { ...deployment.spec, replicas: 1 } };
    played.spec.template = {
      ...deployment.spec.template,
      spec: forPodman(name, deployment.spec.template.spec, images),
    };
    delete played.metadata.namespace;
    pods.push({
      name,
      alias: serviceOf(deployment, objects),
      pod: `${name}-pod-0`,
      kind: 'Deployment',
      documents: [...configMaps, played],
    });
  }
  const migrate = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: job.metadata.name, labels: job.spec.template.metadata?.labels },
    spec: forPodman('migrate', job.spec.template.spec, images),
  };
  const edge = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'edge' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { 'app.kubernetes.io/name': 'edge' } },
      template: {
        metadata: { labels: { 'app.kubernetes.io/name': 'edge' } },
        spec: {
          containers: [
            {
              name: 'edge',
              image: stand.EDGE_IMAGE,
              volumeMounts: [{ name: 'conf', mountPath: '/etc/nginx/nginx.conf', readOnly: true }],
            },
          ],
          volumes: [{ name: 'conf', hostPath: { path: EDGE_CONF, type: 'File' } }],
        },
      },
    },
  };
  return {
    objects,
    secrets,
    migrate: { name: 'migrate', alias: 'migrate', pod: job.metadata.name, kind: 'Job', documents: [migrate] },
    pods,
    edge: { name: 'edge', alias: 'edge', pod: 'edge-pod-0', kind: 'Ingress', documents: [edge] },
  };
}

function play(entry) {
  mkdirSync(WORK, { recursive: true });
  const file = path.join(WORK, `${entry.name}.yaml`);
  writeFileSync(file, entry.documents.map((d) => stringify(d)).join('---\n'));
  run(['kube', 'play', '--network', `${NETWORK}:alias=${entry.alias}`, file], { timeout: 120_000 });
  return file;
}

const ENGINE_NOISE = /unable to get systemd connection|failed to connect to syslog/;

/** The container of a played pod (`<pod>-<container>`, podman's naming). */
export function containerName(entry, container) {
  return `${entry.pod}-${container}`;
}

function podIp(entry) {
  const info = JSON.parse(run(['pod', 'inspect', entry.pod]));
  const infra = (Array.isArray(info) ? info[0] : info).InfraContainerID;
  const networks = JSON.parse(run(['inspect', '--format', '{{json .NetworkSettings.Networks}}', infra]));
  return networks[NETWORK].IPAddress;
}

/**
 * Runs a probe as declared in the rendered manifest (httpGet from inside the container with node, a
 * named port resolved against the container's ports; exec as given); true when it passes.
 */
export function probe(container, spec, declared) {
  const timeout = (spec.timeoutSeconds ?? 1) * 1000;
  if (spec.exec)
    return (
      spawnSync(engine(), ['exec', container, ...spec.exec.command], { stdio: 'ignore', timeout: timeout + 10_000 })
        .status === 0
    );
  if (spec.httpGet) {
    const port =
      typeof spec.httpGet.port === 'string'
        ? declared?.ports?.find((p) => p.name === spec.httpGet.port)?.containerPort
        : spec.httpGet.port;
    if (!port) throw new Error(`${container}: probe port ${spec.httpGet.port} is not a declared port`);
    const url = `http://127.0.0.1:${port}${spec.httpGet.path}`;
    const code = `fetch(${JSON.stringify(url)},{signal:AbortSignal.timeout(${timeout})}).then((r)=>process.exit(r.status>=200&&r.status<400?0:1),()=>process.exit(1))`;
    return (
      spawnSync(engine(), ['exec', container, 'node', '-e', code], { stdio: 'ignore', timeout: timeout + 10_000 })
        .status === 0
    );
  }
  throw new Error(`unsupported probe ${JSON.stringify(spec)}`);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits as the kubelet would: the startup probe must pass within periodSeconds × failureThreshold of
 * the container starting, then the readiness probe (run every periodSeconds) must pass. Returns the seconds each took.
 */
async function settle(entry, deployment) {
  const timings = {};
  for (const container of containersOf(deployment)) {
    const name = containerName(entry, container.name);
    const started = Date.now();
    const startup = container.startupProbe;
    if (startup) {
      const budget = (startup.periodSeconds ?? 10) * (startup.failureThreshold ?? 3) * 1000;
      while (!probe(name, startup, container)) {
        if (Date.now() - started > budget)
          throw new Error(
            `${name}: startup probe not passed within ${budget / 1000} s (periodSeconds × failureThreshold)\n${logs(name)}`,
          );
        await sleep((startup.periodSeconds ?? 10) * 1000);
      }
    }
    const readiness = container.readinessProbe;
    if (readiness) {
      while (!probe(name, readiness, container)) {
        if (Date.now() - started > 180_000)
          throw new Error(`${name}: readiness probe not passed within 180 s\n${logs(name)}`);
        await sleep((readiness.periodSeconds ?? 10) * 1000);
      }
    }
    timings[container.name] = (Date.now() - started) / 1000;
  }
  return timings;
}

function logs(container) {
  const result = spawnSync(engine(), ['logs', '--tail', '30', container], { encoding: 'utf8' });
  return `${result.stdout ?? ''}${result.stderr ?? ''}`
    .split('\n')
    .filter((line) => !ENGINE_NOISE.test(line))
    .join('\n');
}

/** Everything up; writes tmp/containers/kube/state.json (pods, containers, addresses, timings). */
export async function kubeUp() {
  engine();
  // podman's pods need an infra ("pause") container; with no registry it builds one from catatonit.
  ensureDebianPackages(['catatonit']);
  kubeDown();
  const p = plan();
  run(['network', 'create', NETWORK]);
  mkdirSync(WORK, { recursive: true });
  for (const secret of p.secrets) {
    // From a file (mode 600, removed at once): podman 4.3 takes `-` only from a real pipe.
    const file = path.join(WORK, `secret-${secret.name}.json`);
    writeFileSync(file, JSON.stringify(secret.data), { mode: 0o600 });
    try {
      run(['secret', 'create', secret.name, file]);
    } finally {
      rmSync(file, { force: true });
    }
  }
  const state = { network: NETWORK, pods: {}, timings: {} };
  const record = (entry) => {
    state.pods[entry.name] = { pod: entry.pod, kind: entry.kind, ip: podIp(entry) };
    writeFileSync(STATE_FILE, JSON.stringify(state, null, 2));
  };
  const deploymentOf = (name) => p.objects.find((o) => o.kind === 'Deployment' && o.metadata.name === name);

  for (const entry of p.pods.filter((e) => INFRA.includes(e.name))) {
    play(entry);
    record(entry);
  }
  for (const entry of p.pods.filter((e) => INFRA.includes(e.name)))
    state.timings[entry.name] = await settle(entry, deploymentOf(entry.name));

  play(p.migrate);
  record(p.migrate);
  const migrateContainer = containerName(p.migrate, 'migrate');
  const code = run(['wait', migrateContainer], { timeout: 300_000 }).trim();
  if (code !== '0') throw new Error(`the relay-migrate pod exited ${code}:\n${logs(migrateContainer)}`);

  const apps = p.pods.filter((e) => APPS.includes(e.name));
  for (const entry of apps) {
    play(entry);
    record(entry);
  }
  for (const entry of apps) state.timings[entry.name] = await settle(entry, deploymentOf(entry.name));

  play(p.edge);
  record(p.edge);
  writeFileSync(STATE_FILE, JSON.stringify(state, null, 2));
  log(`podman kube play: every pod up on network ${NETWORK}; the edge on http://${state.pods.edge.ip}:8080`);
  return state;
}

/** Every running pod's containers, each probe the rendered manifests declare, run once now: { container: { readinessProbe: true, … } }. */
export function probes() {
  const objects = renderKustomization(OVERLAY);
  const results = {};
  for (const name of [...INFRA, ...APPS]) {
    const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === name);
    for (const container of containersOf(deployment)) {
      const entry = (results[containerName({ pod: `${name}-pod-0` }, container.name)] = {});
      for (const kind of ['startupProbe', 'readinessProbe', 'livenessProbe'])
        if (container[kind])
          entry[kind] = probe(containerName({ pod: `${name}-pod-0` }, container.name), container[kind], container);
    }
  }
  return results;
}

/** Removes the pods, their volumes, the secrets and the network (whatever of them exists). */
export function kubeDown() {
  const quiet = (args) => spawnSync(engine(), args, { stdio: 'ignore', timeout: 120_000 });
  const p = { pods: [...INFRA, ...APPS, 'edge'].map((name) => `${name}-pod-0`), others: ['relay-migrate'] };
  for (const pod of [...p.pods, ...p.others]) quiet(['pod', 'rm', '-f', '-t', '0', pod]);
  const volumes = spawnSync(engine(), ['volume', 'ls', '--format', '{{.Name}}'], { encoding: 'utf8' }).stdout ?? '';
  for (const volume of volumes.split('\n').filter((v) => v.startsWith(`${NETWORK}-`)))
    quiet(['volume', 'rm', '-f', volume]);
  for (const secret of ['relay-connections', 'relay-local-postgres', 'relay-auth']) quiet(['secret', 'rm', secret]);
  quiet(['network', 'rm', '-f', NETWORK]);
  rmSync(STATE_FILE, { force: true });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const command = process.argv[2] ?? 'up';
  //   up [--keep]   everything up (--keep: leave what started when a step fails, to look at it)
  //   down          remove the pods, their volumes, the secrets and the network
  //   probes        run every declared probe once against the running pods (JSON)
  try {
    if (engine() !== 'podman') throw new Error('kube.mjs drives `podman kube play`; set CONTAINER_ENGINE=podman');
    if (command === 'down') kubeDown();
    else if (command === 'probes') process.stdout.write(`${JSON.stringify(probes())}\n`);
    else if (command === 'up') await kubeUp();
    else throw new Error(`unknown command ${command} (up, down, probes)`);
  } catch (error) {
    log(error.message);
    if (command === 'up' && !process.argv.includes('--keep')) kubeDown();
    process.exit(1);
  }
}
