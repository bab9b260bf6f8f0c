import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
  CLUSTER_STATE_VERSION,
  type ClusterEdgeState,
  type ClusterReplicaState,
  type ClusterState,
} from '@sandbox-relay/contracts';
import { ConfigError, type Logger } from '@sandbox-relay/service-kit';
import { REPO_ROOT, type ClusterEnv } from './cluster-env';
import { CLUSTER_SERVICES, type ClusterService } from './cluster-services';
import { clusterEdgeConfig } from './edge-config';
import { ManagedProcess } from './managed-process';

interface Replica {
  service: ClusterService;
  index: number;
  port: number;
  url: string;
  process: ManagedProcess;
}

/**
 * `npm run cluster`: `CLUSTER_REPLICAS` replicas of every service, each its app's real `main.ts` as a
 * process of its own (its bundle, `dist/apps/<app>/main.js`, as the images run it: tools/cluster.mjs
 * builds them first; a process starts in about half the time it takes under tsx, which matters when a
 * killed replica must be ready again within seconds), behind one nginx edge routed as the compose edge and the Ingress are. Keeps them
 * running (restart with backoff), writes the state file on every change, stops everything on `stop()`.
 */
export class Cluster {
  readonly edgeUrl: string;
  readonly stateFile: string;
  private readonly replicas: Replica[] = [];
  private edge!: ManagedProcess;
  private edgeConfigFile!: string;
  private started = false;
  private writeScheduled = false;

  private constructor(
    private readonly env: ClusterEnv,
    private readonly logger: Logger,
    private readonly report: (line: string) => void,
    private readonly edgePort: number,
  ) {
    this.edgeUrl = `http://${env.CLUSTER_HOST}:${edgePort}`;
    this.stateFile = env.CLUSTER_STATE_FILE ?? path.join(env.CLUSTER_DIR, 'state.json');
  }

  /** Picks the ports and writes the edge's config; `launch()` starts the processes. */
  static async create(env: ClusterEnv, logger: Logger, report: (line: string) => void): Promise<Cluster> {
    const edgePort = env.CLUSTER_EDGE_PORT || (await freePort(env.CLUSTER_HOST));
    const cluster = new Cluster(env, logger, report, edgePort);
    await cluster.prepare();
    return cluster;
  }

  /** Starts every replica and the edge; resolves once all of them are ready together. */
  async launch(): Promise<void> {
    this.replicas.forEach((replica) => replica.process.start());
    this.edge.start();
    this.writeState();
    await this.allReady();
    this.started = true;
    this.writeState();
    for (const replica of this.replicas) this.report(this.replicaLine(replica));
    this.report(`edge              nginx pid ${this.edge.pid}  ${this.edgeUrl}  (state: ${this.stateFile})`);
  }

  /** Replicas get SIGTERM (they drain and finish in-flight work), nginx SIGQUIT; SIGKILL past the deadline. */
  async stop(): Promise<boolean> {
    const deadline = this.env.CLUSTER_STOP_TIMEOUT_MS;
    const processes = [this.edge, ...this.replicas.map((replica) => replica.process)];
    await Promise.all(processes.map((process) => process.stop(deadline)));
    this.writeState();
    return processes.every((process) => process.lastExit?.signal !== 'SIGKILL');
  }

  private async prepare(): Promise<void> {
    const logDir = path.join(this.env.CLUSTER_DIR, 'logs');
    const nginxDir = path.join(this.env.CLUSTER_DIR, 'nginx');
    const workspaces = this.env.LOCAL_WORKSPACE_ROOT ?? path.join(this.env.CLUSTER_DIR, 'workspaces');
    for (const dir of [logDir, nginxDir, workspaces, path.dirname(this.stateFile)]) mkdirSync(dir, { recursive: true });
    await assertFree(this.env.CLUSTER_HOST, this.edgePort, 'CLUSTER_EDGE_PORT');
    const unbuilt = CLUSTER_SERVICES.filter((service) => !existsSync(appBundle(service.app)));
    if (unbuilt.length > 0)
      throw new ConfigError([
        `no bundle for ${unbuilt.map((service) => service.app).join(', ')} under dist/apps: run node tools/build.mjs (npm run cluster does)`,
      ]);
    for (const service of CLUSTER_SERVICES) {
      for (let index = 0; index < this.env.CLUSTER_REPLICAS; index += 1) {
        const port = this.env.CLUSTER_BASE_PORT
          ? await assertFree(
              this.env.CLUSTER_HOST,
              this.env.CLUSTER_BASE_PORT + service.portOffset * 10 + index,
              'CLUSTER_BASE_PORT',
            )
          : await freePort(this.env.CLUSTER_HOST);
        const url = `http://${this.env.CLUSTER_HOST}:${port}`;
        const logFile = path.join(logDir, `${service.name}-${index}.log`);
        const process = this.replicaProcess(service, index, port, url, logFile, workspaces);
        this.replicas.push({ service, index, port, url, process });
      }
    }
    this.edge = this.edgeProcess(nginxDir, path.join(logDir, 'edge.log'));
  }

  private replicaProcess(
    service: ClusterService,
    index: number,
    port: number,
    url: string,
    logFile: string,
    workspaces: string,
  ): ManagedProcess {
    const env: Record<string, string | undefined> = { ...process.env, HOST: this.env.CLUSTER_HOST, PORT: String(port) };
    if (service.name === 'supervisor') {
      // Both supervisors share the workspace root, so either can stop the other's local workers through
      // their handles on disk (libs/sandbox local-handles.ts).
      env['LOCAL_WORKSPACE_ROOT'] = workspaces;
      env['WORKER_RELAY_URL'] = this.env.WORKER_RELAY_URL ?? this.edgeUrl;
    }
    const interval = this.env.CLUSTER_PROBE_INTERVAL_MS;
    return new ManagedProcess(
      {
        name: `${service.name}-${index}`,
        command: process.execPath,
        args: ['--enable-source-maps', appBundle(service.app)],
        env,
        cwd: REPO_ROOT,
        logFile,
        probe: () => fetch(`${url}/readyz`, { signal: AbortSignal.timeout(interval) }).then((res) => res.ok),
        probeIntervalMs: interval,
        stopSignal: 'SIGTERM',
        backoff: { baseMs: this.env.CLUSTER_RESTART_BACKOFF_MS, maxMs: this.env.CLUSTER_RESTART_BACKOFF_MAX_MS },
      },
      this.logger,
      () => this.changed(`${service.name}-${index}`),
    );
  }

  private edgeProcess(nginxDir: string, logFile: string): ManagedProcess {
    const upstreams = Object.fromEntries(
      CLUSTER_SERVICES.filter((service) => service.routed).map((service) => [
        service.name,
        this.replicas.filter((replica) => replica.service === service).map((replica) => replica.port),
      ]),
    );
    const root = typeof process.getuid === 'function' && process.getuid() === 0;
    const config = clusterEdgeConfig(readFileSync(this.env.EDGE_TEMPLATE, 'utf8'), {
      listen: { host: this.env.CLUSTER_HOST, port: this.edgePort },
      upstreams,
      upstreamHost: this.env.CLUSTER_HOST,
      prefixDir: nginxDir,
      accessLog: path.join(nginxDir, 'access.log'),
      // nginx started as root drops its workers to `nobody` (whose group is `nogroup` on Debian).
      user: root ? 'nobody nogroup' : null,
      shutdownTimeoutS: Math.ceil(this.env.CLUSTER_STOP_TIMEOUT_MS / 1000),
    });
    this.edgeConfigFile = path.join(nginxDir, 'nginx.conf');
    writeFileSync(this.edgeConfigFile, config);
    const interval = this.env.CLUSTER_PROBE_INTERVAL_MS;
    return new ManagedProcess(
      {
        name: 'edge',
        command: this.env.NGINX_PATH,
        args: ['-p', nginxDir, '-c', this.edgeConfigFile, '-e', 'stderr'],
        env: process.env,
        cwd: nginxDir,
        logFile,
        probe: () => accepts(this.env.CLUSTER_HOST, this.edgePort, interval),
        probeIntervalMs: interval,
        // SIGQUIT is nginx's graceful quit: no new connections, open ones finish (bounded by worker_shutdown_timeout).
        stopSignal: 'SIGQUIT',
        backoff: { baseMs: this.env.CLUSTER_RESTART_BACKOFF_MS, maxMs: this.env.CLUSTER_RESTART_BACKOFF_MAX_MS },
      },
      this.logger,
      () => this.changed('edge'),
    );
  }

  private allReady(): Promise<void> {
    return new Promise((resolve) => {
      const check = setInterval(() => {
        if ([this.edge, ...this.replicas.map((replica) => replica.process)].every((p) => p.status === 'ready')) {
          clearInterval(check);
          resolve();
        }
      }, 100);
    });
  }

  private changed(name: string): void {
    if (this.started) {
      const replica = this.replicas.find((r) => `${r.service.name}-${r.index}` === name);
      this.report(
        replica ? this.replicaLine(replica) : `edge              nginx ${this.edge.status} pid ${this.edge.pid}`,
      );
    }
    if (this.writeScheduled) return;
    this.writeScheduled = true;
    setImmediate(() => {
      this.writeScheduled = false;
      this.writeState();
    });
  }

  private replicaLine(replica: Replica): string {
    const p = replica.process;
    const name = `${replica.service.name}-${replica.index}`.padEnd(18);
    return `${name}pid ${String(p.pid ?? '-').padEnd(8)}${replica.url.padEnd(24)}${p.status.padEnd(11)}restarts ${p.restarts}`;
  }

  private writeState(): void {
    const state: ClusterState = {
      version: CLUSTER_STATE_VERSION,
      launcherPid: process.pid,
      started: this.started,
      edge: this.edgeState(),
      replicas: this.replicas.map((replica) => this.replicaState(replica)),
      updatedAt: new Date().toISOString(),
    };
    // Written whole to a temporary file, then renamed: a reader never sees half a file.
    const temporary = `${this.stateFile}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`);
    renameSync(temporary, this.stateFile);
  }

  private edgeState(): ClusterEdgeState {
    return {
      pid: this.edge.pid,
      port: this.edgePort,
      url: this.edgeUrl,
      status: this.edge.status,
      restarts: this.edge.restarts,
      lastExit: this.edge.lastExit,
      configFile: this.edgeConfigFile,
      logFile: this.edge.spec.logFile,
    };
  }

  private replicaState(replica: Replica): ClusterReplicaState {
    const p = replica.process;
    return {
      service: replica.service.name,
      index: replica.index,
      pid: p.pid,
      port: replica.port,
      url: replica.url,
      status: p.status,
      restarts: p.restarts,
      startedAt: p.startedAt?.toISOString() ?? null,
      lastExit: p.lastExit,
      logFile: p.spec.logFile,
    };
  }
}

/** The app's bundle, as tools/build.mjs writes it and the images run it. */
function appBundle(app: string): string {
  return path.join(REPO_ROOT, 'dist', 'apps', app, 'main.js');
}

/** A TCP port that was free a moment ago (the OS picks it). */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A fixed port something else holds (`npm start` on 18000, another cluster) would leave that replica or
 * the edge restarting forever; say so at once instead.
 */
function assertFree(host: string, port: number, variable: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new ConfigError([
          `${variable}: ${host}:${port} is taken (${error.code}); stop what listens there or choose another`,
        ]),
      ),
    );
    server.listen(port, host, () => server.close(() => resolve(port)));
  });
}

function accepts(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
